import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Organisation, User
from accounts.roles import Role
from accounts.services import user_create

DEMO_USERS = [
    ("demo-worker", Role.WORKER, "Demo Helpline"),
    ("demo-supervisor", Role.SUPERVISOR, "Demo Helpline"),
    ("demo-analyst", Role.ANALYST, "Demo Helpline"),
    ("demo-admin", Role.ADMINISTRATOR, "Demo Helpline"),
    ("other-worker", Role.WORKER, "Other Helpline"),
]
ORGANISATIONS = {"Demo Helpline": "IT", "Other Helpline": "AU"}


class Command(BaseCommand):
    help = "Create the demo organisations and users (idempotent) and print the logins."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        password = settings.DEMO_PASSWORD or self._stored_or_new_password()
        organisations = {
            name: Organisation.objects.get_or_create(name=name, defaults={"country": country})[0]
            for name, country in ORGANISATIONS.items()
        }
        for username, role, organisation in DEMO_USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user_create(
                    organisation=organisations[organisation],
                    username=username,
                    role=role,
                    password=password,
                    is_demo=True,
                )
            elif not user.check_password(password):
                user.set_password(password)
                user.save(update_fields=["password"])
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password for all: {password})"))
        for username, role, organisation in DEMO_USERS:
            self.stdout.write(f"  {username:<16} {role.label:<16} {organisation}")
        if settings.DEBUG:
            self.stdout.write("  Demo accounts skip two-factor login while DEBUG is on; other accounts never do.")
        else:
            self.stdout.write("  DEBUG is off: demo accounts enrol two-factor login at first login like everyone.")
        self._demo_cases(organisations)

    def _stored_or_new_password(self) -> str:
        """A generated password, kept under var/ so every run prints the same one."""
        path = settings.VAR_DIR / "demo_password"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(12))
            path.chmod(0o600)
        return path.read_text().strip()

    def _demo_cases(self, organisations: dict[str, Organisation]) -> None:
        """Synthetic cases over the last three years, once: an organisation that has cases gets none."""
        from datetime import timedelta

        from django.utils import timezone

        from devtools.demo import demo_referrals
        from devtools.generator import generate_cases

        today = timezone.localdate()
        for seed, (name, (count, usernames)) in enumerate(DEMO_CASES.items()):
            organisation = organisations[name]
            if organisation.cases.exists():
                continue
            workers = list(User.objects.filter(organisation=organisation, username__in=usernames).order_by("pk"))
            generate_cases(
                organisation=organisation,
                workers=workers,
                count=count,
                start=today - timedelta(days=3 * 365 - 1),
                end=today,
                seed=seed,
                with_referrals=False,  # the demo's referrals go through the services, with their timeline
            )
            demo_referrals(cases=list(organisation.cases.select_related("assigned_to").order_by("pk")), seed=seed)
        # Statistics: count the rollups now rather than at the scheduler's first run, and keep last month's report.
        from reports.rollups import rollups_refresh
        from reports.snapshots import snapshots_monthly

        rollups_refresh()
        snapshots_monthly()


# Synthetic cases per organisation: how many, and who holds them.
DEMO_CASES = {
    "Demo Helpline": (300, ["demo-worker", "demo-supervisor"]),
    "Other Helpline": (40, ["other-worker"]),
}
