"""The admin takes secrets write-only and never shows them (nor their ciphertext)."""

import pytest
from django.test import Client

from contexts.models import Credential
from tests.contexts.factories import PASSWORD, add_credential, make_context

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def form_data(credential, **changes):
    return {
        "context": credential.context_id,
        "name": credential.name,
        "kind": credential.kind,
        "description": "",
        "config": '{"host": "db", "database": "dw"}',
        "password": "",
        "token": "",
        **changes,
    }


def test_the_credential_page_shows_which_secrets_are_set_but_not_their_values(browser):
    credential = add_credential(make_context())
    page = browser.get(f"/admin/contexts/credential/{credential.pk}/change/").content.decode()
    assert "password" in page
    assert PASSWORD not in page
    assert credential.encrypted_secrets["password"] not in page


def test_saving_without_a_password_keeps_it_and_a_new_one_replaces_it(browser):
    credential = add_credential(make_context())
    url = f"/admin/contexts/credential/{credential.pk}/change/"
    assert browser.post(url, form_data(credential)).status_code == 302
    credential.refresh_from_db()
    assert credential.plain_secrets() == {"password": PASSWORD}
    assert browser.post(url, form_data(credential, password="new-pw")).status_code == 302
    credential.refresh_from_db()
    assert credential.plain_secrets() == {"password": "new-pw"}


def test_a_secret_looking_config_field_is_refused(browser):
    credential = add_credential(make_context())
    url = f"/admin/contexts/credential/{credential.pk}/change/"
    response = browser.post(
        url, form_data(credential, config='{"host": "db", "database": "dw", "password": "x"}')
    )
    assert response.status_code == 200
    assert "put it in `secrets`" in response.content.decode()
    credential.refresh_from_db()
    assert "password" not in credential.config
    assert Credential.objects.count() == 1
