"""The admin's "view on site" shortcut resolves only what an administrator may see, and never fails."""

from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_every_content_type_answers_404_or_a_redirect(client_for: Any) -> None:
    """pghistory's event models have no table of their own: Django's shortcut failed on them with a 500."""
    client = client_for("administrator")
    answers = {
        content_type.pk: client.get(reverse("admin:view_on_site", args=[content_type.pk, 1])).status_code
        for content_type in ContentType.objects.all()
    }
    assert set(answers.values()) <= {404, 302}, {
        pk: status for pk, status in answers.items() if status not in (404, 302)
    }


@pytest.mark.parametrize("content_type_id", [0, 999_999, 2**31, 2**63])
def test_a_content_type_that_does_not_exist_is_a_404(client_for: Any, content_type_id: int) -> None:
    assert client_for("administrator").get(f"/admin/r/{content_type_id}/1/").status_code == 404


@pytest.mark.parametrize("object_id", ["x", "-1", "99999999999999999999", "1%00"])
def test_an_object_id_that_cannot_be_found_is_a_404(client_for: Any, personas: dict[str, User], object_id: str) -> None:
    user_type = ContentType.objects.get_for_model(User)
    assert client_for("administrator").get(f"/admin/r/{user_type.pk}/{object_id}/").status_code == 404


def test_another_organisations_record_is_a_404(client_for: Any, personas: dict[str, User]) -> None:
    user_type = ContentType.objects.get_for_model(User)
    foreign = personas["other_worker"]
    assert (
        client_for("administrator").get(reverse("admin:view_on_site", args=[user_type.pk, foreign.pk])).status_code
        == 404
    )
