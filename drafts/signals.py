from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.models import User
from drafts import services
from drafts.middleware import kept_cookie


@receiver(user_logged_in, dispatch_uid="drafts.claim_kept_forms")
def claim_kept_forms(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    """The forms kept on this browser become the drafts of the user who logs in if they are theirs, else go."""
    kept = kept_cookie(request) if request is not None else None
    if kept is not None:
        services.kept_forms_claim(user=user, token=kept[1])
