from jobs.models import Job
from tests.api_base import APICRUDTests
from tests.jobs.factories import make_job, pipeline


class TestJobsAPI(APICRUDTests):
    endpoint = "/api/v1/jobs/"
    model = Job
    update_payload = {"description": "changed"}
    bad_payload = ({"name": "has spaces", "components": pipeline()}, "name")

    def make_object(self, index):
        return make_job(f"job_{index}")

    def create_payload(self, index):
        return {"name": f"new_{index}", "description": "d", "components": pipeline()}


def test_a_created_job_comes_back_as_the_contract_shape(admin_client):
    payload = {
        "name": "flights_by_carrier",
        "description": "text",
        "config": {"batch_size": 1000, "schedule": "0 2 * * *"},
        "components": pipeline(),
    }
    response = admin_client.post("/api/v1/jobs", payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "flights_by_carrier"
    assert body["config"]["batch_size"] == 1000
    assert body["config"]["schedule"] == "0 2 * * *"
    # Unset settings come back with their defaults.
    assert body["config"]["max_concurrent"] == 1
    assert body["config"]["enabled"] is True
    assert [c["name"] for c in body["components"]] == ["rows", "positive", "out"]
    assert body["components"][1] == pipeline()[1]
    assert body["default_context"] is None
    assert body["depends_on"] == []


def test_the_seed_path_without_trailing_slash_works(admin_client):
    make_job("plain")
    assert admin_client.get("/api/v1/jobs").json()["count"] == 1


def test_jobs_filter_by_exact_name_and_search(admin_client):
    make_job("alpha", description="loads flights")
    make_job("beta")
    assert [j["name"] for j in admin_client.get("/api/v1/jobs/?name=alpha").json()["results"]] == ["alpha"]
    assert [j["name"] for j in admin_client.get("/api/v1/jobs/?search=flights").json()["results"]] == [
        "alpha"
    ]
    ordered = admin_client.get("/api/v1/jobs/?ordering=-name").json()["results"]
    assert [j["name"] for j in ordered] == ["beta", "alpha"]


def test_page_size_is_capped_at_500(admin_client):
    Job.objects.bulk_create(Job(name=f"job_{n:03}") for n in range(501))
    body = admin_client.get("/api/v1/jobs/?page_size=100000").json()
    assert body["count"] == 501
    assert len(body["results"]) == 500
    assert body["next"]


def test_a_duplicate_job_name_is_a_400_on_name(admin_client):
    make_job("taken")
    response = admin_client.post("/api/v1/jobs/", {"name": "taken", "components": pipeline()}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["error"]["details"]
    assert Job.objects.count() == 1
