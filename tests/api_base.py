"""A shared test base for model endpoints (after NetBox's utilities/testing/api.py).

A model's test only supplies data:

    class TestJobsAPI(APICRUDTests):
        endpoint = "/api/v1/jobs/"
        model = Job
        def make_object(self, index): ...           # one saved instance
        def create_payload(self, index): ...        # a valid POST body
        update_payload = {"description": "changed"}
        bad_payload = ({"name": ""}, "name")        # (body, field named in the error)

and inherits checks for list, retrieve, create, update, delete (each write
leaving its AuditEvent), the error body on bad input, 401 without
credentials, 403 without the permission and a list query count that does
not grow with the number of rows. An endpoint that offers less combines the
parts it has (ListTests or PaginatedListTests, RetrieveTests, CreateTests, UpdateTests,
DeleteTests, AccessTests); a nested one (`/contexts/{id}/credentials/`)
makes `endpoint` a property of its parent.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditEvent
from tests.conftest import client_for, make_user


def assert_error_body(response, status: int, field: str | None = None):
    """The uniform error body, and (for 400s) that `field` is named in it."""
    assert response.status_code == status, response.content
    assert response["X-Request-ID"]
    error = response.json()["error"]
    assert error["code"] and error["message"]
    assert error["request_id"] == response["X-Request-ID"]
    if field is not None:
        assert field in str(error["details"]) or field in error["message"], error


@pytest.mark.django_db
class APITestBase:
    endpoint: str
    model = None
    # Lists answer {"count", "next", "previous", "results"}; a sub-resource may answer otherwise (rows()).
    paginated = True
    # Permissions a user needs for writes: "<app_label>.<action>_<model_name>".
    permission_actions = ("add", "change", "delete")

    def make_object(self, index: int):
        raise NotImplementedError

    def create_payload(self, index: int) -> dict:
        raise NotImplementedError

    def detail_url(self, obj) -> str:
        return f"{self.endpoint}{obj.pk}/"

    def rows(self, body) -> list:
        """The objects of a list answer."""
        return body["results"] if self.paginated else body

    def writer_permissions(self) -> list[str]:
        meta = self.model._meta
        return [f"{meta.app_label}.{action}_{meta.model_name}" for action in self.permission_actions]

    @pytest.fixture
    def writer_client(self, db):
        return client_for(make_user("writer", *self.writer_permissions()))

    def assert_audited(self, action: str, pk, **fields):
        meta = self.model._meta
        event = AuditEvent.objects.get(action=action, object_type=meta.label_lower, object_id=str(pk))
        assert event.username == "writer"
        for name, value in fields.items():
            assert getattr(event, name) == value, name
        return event


class ListTests(APITestBase):
    def test_list_answers_with_the_pagination_envelope(self, reader_client):
        self.make_object(1)
        self.make_object(2)
        response = reader_client.get(self.endpoint)
        assert response.status_code == 200, response.content
        body = response.json()
        if self.paginated:
            assert set(body) >= {"count", "next", "previous", "results"}
            assert body["count"] == 2
        assert len(self.rows(body)) == 2

    def test_list_query_count_does_not_grow_with_rows(self, reader_client):
        self.make_object(1)
        reader_client.get(self.endpoint)  # warm caches (content types, sessions)
        with CaptureQueriesContext(connection) as few:
            reader_client.get(self.endpoint)
        for index in range(2, 7):
            self.make_object(index)
        with CaptureQueriesContext(connection) as many:
            response = reader_client.get(self.endpoint)
        assert len(self.rows(response.json())) == 6
        assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


class PaginatedListTests(ListTests):
    def test_list_honours_page_size(self, reader_client):
        for index in range(3):
            self.make_object(index)
        body = reader_client.get(self.endpoint, {"page_size": 2}).json()
        assert body["count"] == 3
        assert len(body["results"]) == 2
        assert body["next"]


class RetrieveTests(APITestBase):
    def test_retrieve_returns_the_object(self, reader_client):
        obj = self.make_object(1)
        response = reader_client.get(self.detail_url(obj))
        assert response.status_code == 200, response.content
        assert response.json()["id"] == obj.pk

    def test_retrieve_of_a_missing_object_is_a_404_error_body(self, reader_client):
        assert_error_body(reader_client.get(f"{self.endpoint}999999/"), 404)


class CreateTests(APITestBase):
    bad_payload: tuple[dict, str] = ({}, "")

    def test_create_saves_and_returns_201(self, writer_client):
        before = self.model.objects.count()
        response = writer_client.post(self.endpoint, self.create_payload(1), format="json")
        assert response.status_code == 201, response.content
        assert self.model.objects.count() == before + 1
        pk = response.json()["id"]
        assert self.model.objects.filter(pk=pk).exists()
        event = self.assert_audited("create", pk, before=None)
        assert event.after

    def test_create_with_bad_input_names_the_field_and_saves_nothing(self, writer_client):
        payload, field = self.bad_payload
        before = self.model.objects.count()
        response = writer_client.post(self.endpoint, payload, format="json")
        assert_error_body(response, 400, field)
        assert self.model.objects.count() == before
        assert not AuditEvent.objects.filter(action="create").exists()

    def test_create_with_malformed_json_is_a_400(self, writer_client):
        response = writer_client.post(self.endpoint, "{not json", content_type="application/json")
        assert_error_body(response, 400)


class UpdateTests(APITestBase):
    update_payload: dict = {}

    def test_update_changes_the_object(self, writer_client):
        obj = self.make_object(1)
        response = writer_client.patch(self.detail_url(obj), self.update_payload, format="json")
        assert response.status_code == 200, response.content
        for key, value in self.update_payload.items():
            assert response.json()[key] == value
        refreshed = writer_client.get(self.detail_url(obj)).json()
        for key, value in self.update_payload.items():
            assert refreshed[key] == value
        event = self.assert_audited("update", obj.pk)
        assert event.before and event.after and event.before != event.after


class DeleteTests(APITestBase):
    def test_delete_removes_the_object(self, writer_client):
        obj = self.make_object(1)
        response = writer_client.delete(self.detail_url(obj))
        assert response.status_code == 204, response.content
        assert not self.model.objects.filter(pk=obj.pk).exists()
        event = self.assert_audited("delete", obj.pk, after=None)
        assert event.before


class AccessTests(APITestBase):
    update_payload: dict = {}

    def test_anonymous_requests_get_401(self, anon_client):
        obj = self.make_object(1)
        assert_error_body(anon_client.get(self.endpoint), 401)
        assert_error_body(anon_client.get(self.detail_url(obj)), 401)
        assert_error_body(anon_client.post(self.endpoint, self.create_payload(2), format="json"), 401)

    def test_writes_without_the_model_permission_get_403_and_change_nothing(self, reader_client):
        obj = self.make_object(1)
        before = self.model.objects.count()
        assert_error_body(reader_client.post(self.endpoint, self.create_payload(2), format="json"), 403)
        assert_error_body(reader_client.patch(self.detail_url(obj), self.update_payload, format="json"), 403)
        assert_error_body(reader_client.delete(self.detail_url(obj)), 403)
        assert self.model.objects.count() == before
        assert not AuditEvent.objects.exists()


class APICRUDTests(PaginatedListTests, RetrieveTests, CreateTests, UpdateTests, DeleteTests, AccessTests):
    """Every check, for a model endpoint with the whole CRUD."""
