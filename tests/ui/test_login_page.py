from accounts.models import AuditEvent
from tests.conftest import user_in_role


def test_a_viewer_logs_in_and_lands_where_they_were_going(client, db):
    user = user_in_role("viewer", "viewer")
    user.set_password("a-long-password")
    user.save()
    page = client.get("/login/?next=/jobs/").content.decode()
    assert "<title>Log in · etlsite</title>" in page and 'name="csrfmiddlewaretoken"' in page
    response = client.post("/login/", {"username": "viewer", "password": "a-long-password", "next": "/jobs/"})
    assert response.status_code == 302 and response["Location"] == "/jobs/"
    assert client.get("/jobs/").status_code == 200
    assert AuditEvent.objects.filter(action="login", username="viewer").exists()


def test_a_wrong_password_is_refused_and_audited(client, db):
    user_in_role("viewer", "viewer")
    response = client.post("/login/", {"username": "viewer", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert AuditEvent.objects.filter(action="login_failed", username="viewer").exists()


def test_logging_out_needs_a_post_and_ends_the_session(client, db):
    user = user_in_role("viewer", "viewer")
    client.force_login(user)
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert client.get("/").status_code == 302
