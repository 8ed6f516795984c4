from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from knox.models import AuthToken

from accounts.models import User
from audit.models import AccessLog, Action

pytestmark = pytest.mark.django_db


def issue_token(username: str) -> str:
    out = StringIO()
    call_command("api_token", username, stdout=out)
    return out.getvalue().strip()


def test_api_token_authenticates_a_service_account(personas: dict[str, User]) -> None:
    token = issue_token("anna")
    response = Client().get(reverse("api-me"), HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200
    assert response.json() == {
        "username": "anna",
        "organisation": "Home Helpline",
        "role": "analyst",
        "permissions": ["reports.view_report"],
    }
    assert "no-store" in response["Cache-Control"]
    stored = AuthToken.objects.get(user=personas["analyst"])
    assert token not in (stored.digest, stored.token_key)  # only a hash is kept
    assert AccessLog.objects.filter(action=Action.TOKEN_ISSUED, object_id=str(personas["analyst"].pk)).exists()


def test_api_token_for_an_unknown_user_fails_clearly(db: Any) -> None:
    with pytest.raises(CommandError, match="No user called 'nobody'"):
        issue_token("nobody")


def test_api_tokens_expire_and_can_be_revoked(personas: dict[str, User]) -> None:
    token = issue_token("anna")
    stored = AuthToken.objects.get(user=personas["analyst"])
    assert stored.expiry is not None
    assert 89 <= (stored.expiry - stored.created).days <= 90
    out = StringIO()
    call_command("api_token", "anna", "--revoke", stdout=out)
    assert "Revoked 1 token(s)" in out.getvalue()
    assert Client().get(reverse("api-me"), HTTP_AUTHORIZATION=f"Token {token}").status_code == 401


def test_no_api_token_for_superusers_or_deactivated_accounts(personas: dict[str, User]) -> None:
    User.objects.filter(username="anna").update(is_active=False)
    with pytest.raises(CommandError, match="deactivated"):
        issue_token("anna")
    User.objects.filter(username="amir").update(is_superuser=True)
    with pytest.raises(CommandError, match="Superusers get no API token"):
        issue_token("amir")


def test_wrong_token_and_no_token_are_401(personas: dict[str, User]) -> None:
    assert Client().get(reverse("api-me"), HTTP_AUTHORIZATION="Token not-a-token").status_code == 401
    response = Client().get(reverse("api-me"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_schema_describes_the_api(client_for: Any) -> None:
    response = client_for("worker").get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    schema = response.json()
    assert "/api/v1/me/" in schema["paths"]
    assert {"knoxApiToken", "sessionAuth"} <= set(schema["components"]["securitySchemes"])
    # Errors are documented too, not only success.
    assert set(schema["paths"]["/api/v1/cases/{id}/notes/"]["post"]["responses"]) == {
        "201",
        "400",
        "401",
        "403",
        "404",
        "429",
    }


def test_an_unknown_api_url_is_a_json_404(client_for: Any) -> None:
    response = client_for("worker").get("/api/v1/cases/1.5/")
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})
    assert "text/html" in client_for("worker").get("/no-such-page/")["Content-Type"]


def test_docs_page_loads_its_script_from_a_file(client_for: Any) -> None:
    page = client_for("worker").get(reverse("api-docs")).content.decode()
    assert "<script>" not in page  # the init script is a separate request, as the policy wants
    assert "?script=" in page
