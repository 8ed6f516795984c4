import time
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import Organisation, User
from accounts.roles import Role
from accounts.services import user_create
from devtools.generator import BATCH_SIZE, generate_cases

MIN_WORKERS = 5


class Command(BaseCommand):
    help = (
        "Add synthetic, anonymised cases to an organisation, for demonstrations and load tests. "
        "Creates workers (without a password) if the organisation has fewer than five."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organisation", required=True, help="name of the organisation")
        parser.add_argument("--count", type=int, default=1000, help="number of cases (default 1000)")
        parser.add_argument("--years", type=int, default=3, help="spread over the last N years (default 3)")
        parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="cases per transaction")
        parser.add_argument("--no-notes", action="store_true", help="do not add notes")

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = Organisation.objects.filter(name=options["organisation"]).first()
        if organisation is None:
            raise CommandError(f"No organisation called {options['organisation']!r}.")
        count, years = options["count"], options["years"]
        if count < 1 or years < 1 or options["batch_size"] < 1:
            raise CommandError("--count, --years and --batch-size must be at least 1.")
        workers = self._workers(organisation)
        end = timezone.localdate()
        start = end - timedelta(days=365 * years - 1)
        self.stdout.write(
            f"Generating {count:,} cases for {organisation.name} from {start} to {end}, "
            f"held by {len(workers)} workers and supervisors..."
        )
        began = time.perf_counter()

        def progress(done: int, total: int) -> None:
            elapsed = time.perf_counter() - began
            self.stdout.write(f"  {done:>10,} / {total:,} cases  {elapsed:7.1f} s  {done / elapsed:8,.0f} cases/s")
            self.stdout.flush()

        made = generate_cases(
            organisation=organisation,
            workers=workers,
            count=count,
            start=start,
            end=end,
            seed=options["seed"],
            with_notes=not options["no_notes"],
            batch_size=options["batch_size"],
            progress=progress,
        )
        elapsed = time.perf_counter() - began
        self.stdout.write(
            self.style.SUCCESS(f"{made:,} cases in {elapsed:.1f} s ({made / elapsed:,.0f} cases/s).")
            + " Run VACUUM ANALYZE before measuring queries."
        )

    def _workers(self, organisation: Organisation) -> list[User]:
        """The active workers and supervisors, after adding workers up to MIN_WORKERS."""
        users = User.objects.filter(organisation=organisation, is_active=True)
        missing = MIN_WORKERS - users.filter(role=Role.WORKER).count()
        prefix = slugify(organisation.name)[:100] or f"organisation-{organisation.pk}"
        number = 0
        while missing > 0:
            number += 1
            username = f"{prefix}-synthetic-worker-{number}"
            if User.objects.filter(username=username).exists():
                continue
            user_create(organisation=organisation, username=username, role=Role.WORKER, password=None)
            self.stdout.write(f"Created worker {username} (no password).")
            missing -= 1
        return list(users.filter(role__in=[Role.WORKER, Role.SUPERVISOR]).order_by("pk"))
