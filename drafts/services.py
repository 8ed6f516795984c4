"""Every change to drafts.

None writes an access-log row: a draft is its author's own typing, shown to nobody else, and autosave writes it
every few seconds. The case the typing ends up in is logged when the form is saved, through the case's own
services; a refused attempt at someone else's draft or at a form the user may not fill in is logged by the gate.
"""

import hashlib
import json
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from drafts.models import Draft, KeptForm
from drafts.selectors import draft_keep, kept_form_lifetime

# Room for two texts of the longest kind (notes and descriptions take 20,000 characters) and every other field.
DATA_LIMIT = 200_000  # bytes of JSON


def _checked(data: dict[str, list[str]]) -> dict[str, list[str]]:
    if len(json.dumps(data, ensure_ascii=False).encode()) > DATA_LIMIT:
        raise ValidationError(_("This form is too long to keep as a draft."), code="too_long")
    return data


def draft_save(*, user: User, key: str, data: dict[str, list[str]]) -> Draft:
    """The user's draft of this form, created or replaced with what the form holds now."""
    draft, _created = Draft.objects.update_or_create(
        user=user,
        key=key,
        defaults={
            "organisation_id": user.organisation_id,
            "data": _checked(data),
            "kept_after_session_end": False,
            "updated_at": timezone.now(),
        },
    )
    return draft


def draft_delete(*, user: User, key: str) -> None:
    """The form was saved: its draft has done its work."""
    Draft.objects.filter(user=user, key=key).delete()


def draft_discard(*, draft: Draft) -> None:
    draft.delete()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def form_keep(*, user_id: int, key: str, data: dict[str, list[str]], token: str) -> bool:
    """Keep a form posted after the session of the user last signed in on this browser had ended."""
    if not User.objects.filter(pk=user_id, is_active=True).exists():
        return False
    try:
        _checked(data)
    except ValidationError:
        return False
    KeptForm.objects.update_or_create(
        token_hash=token_hash(token),
        key=key,
        defaults={"user_id": user_id, "data": data, "created_at": timezone.now()},
    )
    return True


@transaction.atomic
def kept_forms_claim(*, user: User, token: str) -> int:
    """Someone logged in on a browser holding kept forms: their author finds them again as drafts; anyone else
    never sees them, and they are deleted either way."""
    now = timezone.now()
    kept = KeptForm.objects.filter(token_hash=token_hash(token))
    claimed = 0
    for form in kept.filter(user=user, created_at__gte=now - kept_form_lifetime()):
        values: dict[str, Any] = {
            "organisation_id": user.organisation_id,
            "data": form.data,
            "kept_after_session_end": True,
            "updated_at": now,
        }
        Draft.objects.update_or_create(user=user, key=form.key, defaults=values)
        claimed += 1
    kept.delete()
    return claimed


def drafts_delete_expired() -> int:
    """Drafts untouched for DRAFT_KEEP_HOURS, and kept forms nobody came back for; running it twice is harmless."""
    now = timezone.now()
    drafts, _deleted = Draft.objects.filter(updated_at__lt=now - draft_keep()).delete()
    kept, _deleted = KeptForm.objects.filter(created_at__lt=now - kept_form_lifetime()).delete()
    return drafts + kept
