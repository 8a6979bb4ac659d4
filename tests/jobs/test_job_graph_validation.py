"""Saving a job validates its component graph: one 400 names every bad component."""

import pytest

from jobs.models import Job
from tests.jobs.factories import pipeline


def post_job(client, components, **extra):
    return client.post("/api/v1/jobs/", {"name": "j", "components": components, **extra}, format="json")


def problems(response) -> list[dict]:
    assert response.status_code == 400, response.content
    return response.json()["error"]["details"]["components"]


@pytest.mark.django_db
def test_an_unknown_component_type_is_named(admin_client):
    components = pipeline()
    components[1]["type"] = "teleport"
    [problem] = problems(post_job(admin_client, components))
    assert problem["component"] == "positive"
    assert problem["field"] == "type"
    assert "teleport" in problem["message"]
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_a_missing_input_is_named(admin_client):
    components = pipeline()
    components[2]["inputs"] = ["nowhere"]
    [problem] = problems(post_job(admin_client, components))
    assert (problem["component"], problem["field"]) == ("out", "inputs")
    assert "nowhere" in problem["message"]


@pytest.mark.django_db
def test_a_duplicate_component_name_is_refused(admin_client):
    components = pipeline()
    components[2]["name"] = "positive"
    found = problems(post_job(admin_client, components))
    assert any(p["field"] == "name" and p["component"] == "positive" for p in found)


@pytest.mark.django_db
def test_a_cycle_names_its_components(admin_client):
    components = [
        {"name": "rows", "type": "inline_source", "config": {"rows": [{"a": 1}]}},
        {"name": "x", "type": "filter", "inputs": ["y"], "config": {"where": "a > 0"}},
        {"name": "y", "type": "filter", "inputs": ["x"], "config": {"where": "a > 0"}},
    ]
    [problem] = problems(post_job(admin_client, components))
    assert "cycle" in problem["message"]
    assert "x" in problem["message"] and "y" in problem["message"]


@pytest.mark.django_db
def test_an_unknown_config_field_is_refused(admin_client):
    components = pipeline()
    components[1]["config"]["wher"] = "a > 1"
    [problem] = problems(post_job(admin_client, components))
    assert problem["component"] == "positive"
    assert "wher" in problem["message"]


@pytest.mark.django_db
def test_a_missing_required_config_field_is_named(admin_client):
    components = pipeline()
    components[1]["config"] = {}
    [problem] = problems(post_job(admin_client, components))
    assert (problem["component"], problem["field"]) == ("positive", "config.where")


@pytest.mark.django_db
def test_a_bad_expression_is_refused_with_the_component(admin_client):
    found = problems(post_job(admin_client, pipeline(where="a >>> (")))
    assert found[0]["component"] == "positive"
    assert found[0]["field"] == "config.where"


@pytest.mark.django_db
def test_every_problem_is_reported_at_once(admin_client):
    components = pipeline()
    components[1]["type"] = "teleport"
    components[2]["inputs"] = ["nowhere"]
    assert {p["component"] for p in problems(post_job(admin_client, components))} == {"positive", "out"}


@pytest.mark.django_db
def test_unknown_job_settings_are_refused(admin_client):
    response = post_job(admin_client, pipeline(), config={"batch_sise": 10})
    assert response.status_code == 400
    assert "batch_sise" in response.json()["error"]["details"]["config"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "config, field",
    [
        ({"schedule": "every tuesday"}, "schedule"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"batch_size": 0}, "batch_size"),
        ({"max_concurrent": "many"}, "max_concurrent"),
    ],
)
def test_bad_job_settings_name_the_setting(admin_client, config, field):
    response = post_job(admin_client, pipeline(), config=config)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]["config"]
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_an_unknown_top_level_field_is_refused(admin_client):
    response = post_job(admin_client, pipeline(), colour="blue")
    assert response.status_code == 400
    assert "colour" in response.json()["error"]["details"]


@pytest.mark.django_db
def test_a_too_long_name_is_refused(admin_client):
    response = admin_client.post(
        "/api/v1/jobs/", {"name": "n" * 101, "components": pipeline()}, format="json"
    )
    assert response.status_code == 400
    assert "name" in response.json()["error"]["details"]


@pytest.mark.django_db
@pytest.mark.parametrize("version, ok", [(2, True), (0, False), ("two", False)])
def test_a_validate_component_may_pin_a_schema_version(admin_client, version, ok):
    components = pipeline()
    components.insert(
        2,
        {
            "name": "checked",
            "type": "validate",
            "inputs": ["positive"],
            "config": {"schema": "s", "version": version},
        },
    )
    components[3]["inputs"] = ["checked"]
    response = post_job(admin_client, components)
    if ok:
        assert response.status_code == 201, response.content
    else:
        assert problems(response)[0]["field"] == "config.version"


@pytest.mark.django_db
def test_the_message_names_every_bad_component_not_only_the_first(admin_client):
    components = pipeline()
    components[1]["type"] = "teleport"
    components[2]["inputs"] = ["nowhere"]
    response = post_job(admin_client, components)
    assert len(problems(response)) == 2
    message = response.json()["error"]["message"]
    assert message.startswith("components: component 'positive', field 'type': ")
    assert "teleport" in message and "; component 'out', field 'inputs': " in message and "nowhere" in message
