"""What the benchmark commands share."""

from django.core.management.base import CommandError
from django.db.models import Count

from accounts.models import Organisation, User
from accounts.roles import Role


def benchmark_user(username: str | None, *, role: Role, permission: str, refusal: str, option: str) -> User:
    """The named active user, who must hold ``permission`` (else ``refusal``, after the name); without a name,
    the first active user of ``role`` in the organisation with the most cases."""
    if username:
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user called {username!r}.")
        if not user.has_perm(permission):
            raise CommandError(f"{username} {refusal}.")
        return user
    organisation = Organisation.objects.annotate(n=Count("cases")).order_by("-n", "pk").first()
    if organisation is None:
        raise CommandError("No organisation: run seed_demo and generate_cases first.")
    user = User.objects.filter(organisation=organisation, role=role, is_active=True).order_by("pk").first()
    if user is None:
        raise CommandError(f"{organisation.name} has no active {role.label.lower()}; give one with {option}.")
    return user
