from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from drafts.models import Draft

# A form kept after a session ended waits this long for its author to log in again on that browser.
KEPT_FORM_LIFETIME = timedelta(hours=1)


def draft_keep() -> timedelta:
    """How long a draft is kept after it last changed."""
    return timedelta(hours=settings.DRAFT_KEEP_HOURS)


def kept_form_lifetime() -> timedelta:
    return min(KEPT_FORM_LIFETIME, draft_keep())


def drafts_of(user: User) -> QuerySet[Draft]:
    """The user's own drafts, of their organisation, not yet expired: nobody else's, whatever their role."""
    return Draft.objects.filter(
        user=user, organisation_id=user.organisation_id, updated_at__gte=timezone.now() - draft_keep()
    )


def draft_of(user: User, key: str) -> Draft | None:
    return drafts_of(user).filter(key=key).first()
