import math
import statistics
import time
from typing import Any

import pgtrigger
from django.conf import settings
from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Organisation, User
from accounts.roles import Role
from cases.models import Case
from devtools.benchmarks import benchmark_user

BENCH_PREFIX = "bench-worker-"


def percentile_95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


class Command(BaseCommand):
    help = (
        "Time the workload board page and /api/v1/workload/ in process (no network), as a supervisor of the "
        "organisation with the most cases, with DEBUG off. With --spread-workers N, first create N workers "
        "and give them every assigned case, contact and referral of that organisation (a benchmark copy only)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--runs", type=int, default=20, help="timed requests per URL (default 20)")
        parser.add_argument("--warmups", type=int, default=3, help="untimed requests first (default 3)")
        parser.add_argument("--threshold", type=float, default=300.0, help="a median above this (ms) is slow")
        parser.add_argument("--user", help="username to measure as (default: a supervisor of the largest org)")
        parser.add_argument(
            "--spread-workers",
            type=int,
            default=0,
            metavar="N",
            help="REWRITES DATA: create N workers and spread the organisation's cases, contacts and referrals "
            "over them, then VACUUM ANALYZE. For a throwaway copy of a database, never a real one.",
        )
        parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the board's queries")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["runs"] < 1 or options["warmups"] < 0:
            raise CommandError("--runs must be at least 1 and --warmups at least 0.")
        user = self._user(options.get("user"))
        organisation = user.organisation
        if options["spread_workers"]:
            if settings.PRODUCTION:
                raise CommandError("--spread-workers rewrites every case's assignee: not in production.")
            self._spread(organisation, options["spread_workers"])
        people = User.objects.filter(organisation=organisation, role__in=[Role.WORKER, Role.SUPERVISOR])
        self.stdout.write(
            f"Cases in the database: {Case.objects.count():,}; in {organisation.name}: "
            f"{Case.objects.filter(organisation=organisation).count():,}, "
            f"open {Case.objects.filter(organisation=organisation).exclude(status='closed').count():,}; "
            f"workers and supervisors: {people.count()}."
        )
        self.stdout.write(
            f"Measuring as {user.username}, {options['warmups']} warm-ups then {options['runs']} runs per URL, "
            "DEBUG off.\n"
        )
        if options["explain"]:
            self._explain(organisation)
        hosts = [*settings.ALLOWED_HOSTS, "testserver"]
        with override_settings(DEBUG=False, ALLOWED_HOSTS=hosts):
            results = self._measure(user, options["runs"], options["warmups"])
        header = f"{'what':<22} {'median ms':>10} {'p95 ms':>8} {'queries':>8} {'db ms':>8}"
        self.stdout.write("\n" + header + "\n" + "-" * len(header))
        slow = False
        for name, times, queries, db_ms in results:
            median = statistics.median(times)
            slow = slow or median > options["threshold"]
            self.stdout.write(f"{name:<22} {median:10.1f} {percentile_95(times):8.1f} {queries:8d} {db_ms:8.1f}")
        if slow:
            self.stdout.write(self.style.WARNING(f"\nOver {options['threshold']:.0f} ms median."))
        else:
            self.stdout.write(self.style.SUCCESS(f"\nEverything under {options['threshold']:.0f} ms median."))

    def _user(self, username: str | None) -> User:
        return benchmark_user(
            username,
            role=Role.SUPERVISOR,
            permission="cases.assign_case",
            refusal="is not a supervisor",
            option="--user",
        )

    def _spread(self, organisation: Organisation, count: int) -> None:
        if not 1 <= count <= 10_000:
            raise CommandError("--spread-workers takes 1 to 10000.")
        began = time.perf_counter()
        names = [f"{BENCH_PREFIX}{n:03d}" for n in range(1, count + 1)]
        existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
        workers = [
            User(username=name, organisation=organisation, role=Role.WORKER) for name in names if name not in existing
        ]
        for worker in workers:
            worker.set_unusable_password()
        User.objects.bulk_create(workers)
        ids = list(User.objects.filter(username__in=names).order_by("username").values_list("pk", flat=True))
        # Synthetic data rewritten in bulk: no history worth keeping, and the triggers would double every write.
        with (
            transaction.atomic(),
            pgtrigger.ignore(
                "cases.Case:update_update", "cases.Contact:update_update", "referrals.Referral:update_update"
            ),
            connection.cursor() as cursor,
        ):
            cursor.execute(
                "UPDATE cases_case SET assigned_to_id = (%s::bigint[])[1 + id %% %s] "
                "WHERE organisation_id = %s AND assigned_to_id IS NOT NULL",
                [ids, len(ids), organisation.pk],
            )
            cases = cursor.rowcount
            cursor.execute(
                "UPDATE cases_contact AS contact SET worker_id = (%s::bigint[])[1 + contact.case_id %% %s] "
                "FROM cases_case AS c WHERE c.id = contact.case_id AND c.organisation_id = %s",
                [ids, len(ids), organisation.pk],
            )
            contacts = cursor.rowcount
            cursor.execute(
                "UPDATE referrals_referral AS referral SET owner_id = (%s::bigint[])[1 + referral.case_id %% %s] "
                "FROM cases_case AS c WHERE c.id = referral.case_id AND c.organisation_id = %s",
                [ids, len(ids), organisation.pk],
            )
            referrals = cursor.rowcount
        with connection.cursor() as cursor:
            for table in ("cases_case", "cases_contact", "referrals_referral", "cases_responsestep", "accounts_user"):
                cursor.execute(f"VACUUM ANALYZE {table}")
        self.stdout.write(
            f"Spread {cases:,} assigned cases, {contacts:,} contacts and {referrals:,} referrals over "
            f"{len(ids)} workers in {time.perf_counter() - began:.0f} s.\n"
        )

    def _explain(self, organisation: Organisation) -> None:
        from supervision.selectors import stale_days_default, workload

        with CaptureQueriesContext(connection) as captured:
            workload(organisation, stale_days=stale_days_default())
        for query in captured.captured_queries:
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query['sql']}")
                self.stdout.write(f"\n{query['sql']}\n" + "\n".join(row[0] for row in cursor.fetchall()))

    def _measure(self, user: User, runs: int, warmups: int) -> list[tuple[str, list[float], int, float]]:
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        temporary = device is None
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="benchmark", confirmed=True)
        client = Client()
        try:
            # Logged in past the second factor, as tests.conftest.login_verified does.
            client.force_login(user)
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
            results = []
            for name, url in (
                ("board page", reverse("supervision:board")),
                ("board page ?days=30", reverse("supervision:board") + "?days=30"),
                ("API", reverse("api-workload")),
            ):
                results.append(self._one(client, name, url, runs, warmups))
                self.stdout.write(f"  {name:<22} {statistics.median(results[-1][1]):8.1f} ms")
            return results
        finally:
            client.logout()
            if temporary:
                device.delete()

    def _one(self, client: Client, name: str, url: str, runs: int, warmups: int) -> tuple[str, list[float], int, float]:
        statuses = set()
        for _ in range(warmups):
            cache.clear()
            statuses.add(client.get(url).status_code)
        times = []
        for _ in range(runs):
            cache.clear()  # the API throttles per user with a counter in the cache
            began = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - began) * 1000)
            statuses.add(response.status_code)
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            statuses.add(client.get(url).status_code)
        if statuses != {200}:
            raise CommandError(f"{url} answered {sorted(statuses)}, not 200.")
        db_ms = sum(float(q["time"]) for q in captured.captured_queries) * 1000
        return name, times, len(captured.captured_queries), db_ms
