"""Sign in with an email address, sign out, reset a forgotten password."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-passphrase-42"


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = "https://cg.example.com"


def sign_in(client, email: str, password: str):
    return client.post(reverse("login"), {"username": email, "password": password})


def test_a_member_signs_in_with_email_and_password(client, owner):
    response = sign_in(client, "owner@a.example", DEFAULT_PASSWORD)

    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    assert client.get(reverse("dashboard")).context["user"] == owner


def test_signing_in_returns_to_the_page_asked_for(client, owner):
    response = client.post(
        reverse("login") + "?next=/settings/audit/",
        {"username": "owner@a.example", "password": DEFAULT_PASSWORD, "next": "/settings/audit/"},
    )

    assert response["Location"] == "/settings/audit/"


def test_signing_in_never_redirects_off_site(client, owner):
    response = client.post(
        reverse("login"),
        {
            "username": "owner@a.example",
            "password": DEFAULT_PASSWORD,
            "next": "https://evil.example/",
        },
    )

    assert response["Location"] == reverse("dashboard")


def test_email_case_does_not_matter_when_signing_in(client, owner):
    response = sign_in(client, "Owner@A.Example", DEFAULT_PASSWORD)

    assert response.status_code == 302


def test_a_wrong_password_is_refused_with_a_form_error(client, owner):
    response = sign_in(client, "owner@a.example", "wrong-password")

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert "_auth_user_id" not in client.session


def test_signing_out_ends_the_session(client, owner):
    client.force_login(owner)

    response = client.post(reverse("logout"))

    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert client.get(reverse("dashboard")).status_code == 302


def reset_link_from_outbox() -> str:
    """The path of the emailed link, which is absolute on SITE_URL whatever the request's host."""
    assert len(mail.outbox) == 1
    link = re.search(r"https://cg\.example\.com(/password-reset/\S+/)", mail.outbox[0].body)
    return link.group(1)


def test_a_forgotten_password_is_reset_through_the_emailed_link(client, owner):
    response = client.post(reverse("password_reset"), {"email": "owner@a.example"})

    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox[0].to == ["owner@a.example"]
    assert mail.outbox[0].subject == "Reset your CreditGuard password"
    form_page = client.get(reset_link_from_outbox(), follow=True)
    assert form_page.context["validlink"]
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert done["Location"] == reverse("password_reset_complete")
    client.logout()
    assert sign_in(client, "owner@a.example", DEFAULT_PASSWORD).status_code == 200
    assert sign_in(client, "owner@a.example", NEW_PASSWORD).status_code == 302


def test_a_reset_link_works_only_once(client, owner):
    client.post(reverse("password_reset"), {"email": "owner@a.example"})
    link = reset_link_from_outbox()
    form_page = client.get(link, follow=True)
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    again = client.get(link, follow=True)

    assert not again.context["validlink"]


def test_an_unknown_email_gets_the_same_answer_and_no_mail(client, owner):
    response = client.post(reverse("password_reset"), {"email": "nobody@nowhere.example"})

    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_a_user_added_by_an_admin_can_set_a_first_password_through_the_reset_link(client, owner):
    # members.html tells admins: "A new user sets a password through 'Forgot your password?'".
    client.force_login(owner)
    client.post(
        reverse("members"),
        {"email": "invited@a.example", "role": "viewer", "approval_authority": "0"},
    )
    client.logout()

    client.post(reverse("password_reset"), {"email": "invited@a.example"})

    assert [message.to for message in mail.outbox] == [["invited@a.example"]]
