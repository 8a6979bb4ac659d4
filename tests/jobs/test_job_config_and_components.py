import pytest

from tests.api_base import assert_error_body
from tests.jobs.factories import make_job, pipeline


@pytest.mark.django_db
def test_config_get_shows_every_setting_with_defaults(reader_client):
    job = make_job("j", config={"batch_size": 10})
    config = reader_client.get(f"/api/v1/jobs/{job.pk}/config").json()
    assert config["batch_size"] == 10
    assert config["timeout_seconds"] == 3600
    assert config["schedule"] is None


@pytest.mark.django_db
def test_config_put_replaces_the_settings(admin_client):
    job = make_job("j", config={"batch_size": 10})
    response = admin_client.put(
        f"/api/v1/jobs/{job.pk}/config", {"max_retries": 2, "schedule": "*/5 * * * *"}, format="json"
    )
    assert response.status_code == 200, response.content
    job.refresh_from_db()
    assert job.config == {"max_retries": 2, "schedule": "*/5 * * * *"}
    assert response.json()["batch_size"] == 50_000


@pytest.mark.django_db
def test_config_put_with_a_bad_value_changes_nothing(admin_client):
    job = make_job("j", config={"batch_size": 10})
    response = admin_client.put(f"/api/v1/jobs/{job.pk}/config", {"batch_size": -1}, format="json")
    assert_error_body(response, 400, "batch_size")
    job.refresh_from_db()
    assert job.config == {"batch_size": 10}


@pytest.mark.django_db
def test_config_put_needs_the_change_permission(reader_client):
    job = make_job("j")
    assert_error_body(reader_client.put(f"/api/v1/jobs/{job.pk}/config", {}, format="json"), 403)


@pytest.mark.django_db
def test_components_get_lists_the_graph_in_order(reader_client):
    job = make_job("j")
    assert reader_client.get(f"/api/v1/jobs/{job.pk}/components").json() == [
        {**component, "inputs": component.get("inputs", [])} for component in pipeline()
    ]


@pytest.mark.django_db
def test_components_put_replaces_the_graph(admin_client):
    job = make_job("j")
    graph = pipeline(where="a > 5")[:1] + [
        {"name": "first", "type": "limit", "inputs": ["rows"], "config": {"n": 1}},
        {"name": "out", "type": "csv_sink", "inputs": ["first"], "config": {"path": "o.csv"}},
    ]
    response = admin_client.put(f"/api/v1/jobs/{job.pk}/components", graph, format="json")
    assert response.status_code == 200, response.content
    assert [c["name"] for c in job.component_dicts()] == ["rows", "first", "out"]


@pytest.mark.django_db
def test_components_put_with_an_invalid_graph_keeps_the_old_one(admin_client):
    job = make_job("j")
    graph = pipeline()
    graph[2]["inputs"] = ["ghost"]
    response = admin_client.put(f"/api/v1/jobs/{job.pk}/components", graph, format="json")
    assert_error_body(response, 400, "ghost")
    assert [c["name"] for c in job.component_dicts()] == ["rows", "positive", "out"]


@pytest.mark.django_db
def test_components_put_needs_the_change_permission(reader_client):
    job = make_job("j")
    response = reader_client.put(f"/api/v1/jobs/{job.pk}/components", pipeline(), format="json")
    assert_error_body(response, 403)


@pytest.mark.django_db
def test_sub_routes_answer_401_without_credentials(anon_client):
    job = make_job("j")
    for route in ("config", "components", "dependencies"):
        assert_error_body(anon_client.get(f"/api/v1/jobs/{job.pk}/{route}"), 401)
