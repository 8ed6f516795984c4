import math
import re
import statistics
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Organisation, User
from accounts.roles import Role
from cases.models import Case


@dataclass
class Result:
    target: str
    name: str
    url: str
    times: list[float]
    queries: int
    db_ms: float
    rows: int
    slowest_sql: str = ""
    slowest_ms: float = 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def p95(self) -> float:
        ordered = sorted(self.times)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


class Command(BaseCommand):
    help = (
        "Time the staff case list and the API case list with each filter, in process (no network), "
        "as a supervisor of the organisation with the most cases, with DEBUG off."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--runs", type=int, default=20, help="timed requests per filter (default 20)")
        parser.add_argument("--warmups", type=int, default=3, help="untimed requests first (default 3)")
        parser.add_argument("--threshold", type=float, default=50.0, help="a median above this (ms) is slow")
        parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the main query of slow filters")
        parser.add_argument("--user", help="username to measure as (default: a supervisor of the largest org)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["runs"] < 1 or options["warmups"] < 0:
            raise CommandError("--runs must be at least 1 and --warmups at least 0.")
        user = self._user(options.get("user"))
        organisation = user.organisation
        total = Case.objects.count()
        mine = Case.objects.filter(organisation=organisation).count()
        self.stdout.write(f"Cases in the database: {total:,}; in {organisation.name}: {mine:,}.")
        self.stdout.write(
            f"Measuring as {user.username} ({user.get_role_display()}), "
            f"{options['warmups']} warm-ups then {options['runs']} runs per URL, DEBUG off.\n"
        )
        hosts = [*settings.ALLOWED_HOSTS, "testserver"]
        with override_settings(DEBUG=False, ALLOWED_HOSTS=hosts):
            results = self._measure(user, options["runs"], options["warmups"])
        self._table(results)
        slow = [r for r in results if r.median > options["threshold"]]
        if not slow:
            self.stdout.write(self.style.SUCCESS(f"\nNo filter over {options['threshold']:.0f} ms median."))
            return
        self.stdout.write(self.style.WARNING(f"\nOver {options['threshold']:.0f} ms median:"))
        for r in slow:
            where = "mostly SQL" if self._sql_bound(r) else "mostly outside SQL: rendering or serialisation"
            self.stdout.write(
                f"  {r.target:<4} {r.name:<34} {r.median:6.1f} ms, SQL {r.db_ms:5.1f} ms "
                f"(slowest query {r.slowest_ms:5.1f} ms): {where}"
            )
        bound = [r for r in slow if self._sql_bound(r)]
        if bound and options["explain"]:
            for r in bound:
                self._explain(r)
        elif bound:
            self.stdout.write("Run with --explain for the plan of the slowest query of those mostly in SQL.")

    def _sql_bound(self, result: Result) -> bool:
        return result.db_ms >= result.median / 2

    def _user(self, username: str | None) -> User:
        if username:
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(f"No active user called {username!r}.")
            if not user.has_perm("cases.view_case"):
                raise CommandError(f"{username} does not work on cases.")
            return user
        organisation = Organisation.objects.annotate(n=Count("cases")).order_by("-n", "pk").first()
        if organisation is None:
            raise CommandError("No organisation: run seed_demo and generate_cases first.")
        user = (
            User.objects.filter(organisation=organisation, role=Role.SUPERVISOR, is_active=True).order_by("pk").first()
        )
        if user is None:
            raise CommandError(f"{organisation.name} has no active supervisor; give one with --user.")
        return user

    def _filters(self) -> list[tuple[str, dict[str, str]]]:
        today = timezone.localdate()
        # A month about a year back: the page must skip a year of newer cases to reach it.
        until = today - timedelta(days=365)
        since = until - timedelta(days=30)
        return [
            ("no filter", {}),
            ("status=open", {"status": "open"}),
            ("risk_level=high", {"risk_level": "high"}),
            ("platform=instagram", {"platform": "instagram"}),
            ("sextortion_type=financial", {"sextortion_type": "financial"}),
            ("mine=true", {"mine": "true"}),
            (f"contact {since}..{until}", {"contact_from": since.isoformat(), "contact_to": until.isoformat()}),
            ("reference=SX-2025-001", {"reference": "SX-2025-001"}),
            ("overdue=true", {"overdue": "true"}),
        ]

    def _measure(self, user: User, runs: int, warmups: int) -> list[Result]:
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
            for target, path in (("page", reverse("case_list")), ("api", "/api/v1/cases/")):
                for name, query in self._filters():
                    url = f"{path}?{urlencode(query)}" if query else path
                    results.append(self._one(client, target, name, url, runs, warmups))
                    self.stdout.write(f"  {target:<4} {name:<34} {results[-1].median:8.1f} ms")
            return results
        finally:
            client.logout()
            if temporary:
                device.delete()

    def _one(self, client: Client, target: str, name: str, url: str, runs: int, warmups: int) -> Result:
        statuses = set()
        for _ in range(warmups):
            cache.clear()
            statuses.add(client.get(url).status_code)
        times = []
        for _ in range(runs):
            # The API throttles per user with a counter in the cache: start each request afresh.
            cache.clear()
            began = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - began) * 1000)
            statuses.add(response.status_code)
        # One more, counting the queries (not timed: capturing adds its own overhead).
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        statuses.add(response.status_code)
        if statuses != {200}:
            raise CommandError(f"{url} answered {sorted(statuses)}, not 200.")
        # Cases listed: results of the API page, rows linking to a case on the staff page.
        rows = len(response.json()["results"]) if target == "api" else response.content.count(b'<td><a href="/cases/')
        selects = [q for q in captured.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
        slowest = max(selects, key=lambda q: float(q["time"]), default=None)
        return Result(
            target=target,
            name=name,
            url=url,
            times=times,
            queries=len(captured.captured_queries),
            db_ms=sum(float(q["time"]) for q in captured.captured_queries) * 1000,
            rows=rows,
            slowest_sql=slowest["sql"] if slowest else "",
            slowest_ms=float(slowest["time"]) * 1000 if slowest else 0.0,
        )

    def _table(self, results: list[Result]) -> None:
        self.stdout.write("")
        header = f"{'target':<6} {'filter':<34} {'median ms':>10} {'p95 ms':>8} {'queries':>8} {'db ms':>8} {'rows':>5}"
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for r in results:
            self.stdout.write(
                f"{r.target:<6} {r.name:<34} {r.median:>10.1f} {r.p95:>8.1f} {r.queries:>8} {r.db_ms:>8.1f} {r.rows:>5}"
            )
        self.stdout.write("(db ms: time in SQL of one extra request whose queries were counted; rows: cases listed)")

    def _explain(self, result: Result) -> None:
        self.stdout.write(f"\n=== {result.target} {result.name}: {result.url}")
        # The column list says nothing about the plan: shortened for reading, not for EXPLAIN.
        shown = re.sub(
            r'^SELECT .*? FROM (?="cases_case" )', "SELECT ... FROM ", result.slowest_sql, count=1, flags=re.S
        )
        self.stdout.write(f"Slowest query ({result.slowest_ms:.1f} ms):\n{shown}\n")
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {result.slowest_sql}")
            plan = [line for (line,) in cursor.fetchall()]
        for line in plan:
            self.stdout.write(line)
        hints = [line.strip() for line in plan if self._costly(line)]
        planning = self._ms(plan, "Planning Time")
        if planning > max(5.0, self._ms(plan, "Execution Time")):
            hints.append(f"Planning ({planning:.1f} ms) takes longer than running the query: too many joined tables")
        if hints:
            self.stdout.write("Where the time goes:")
            for hint in hints:
                self.stdout.write(f"  {hint[:160]}")

    def _ms(self, plan: list[str], label: str) -> float:
        found = [re.search(rf"{label}: ([\d.]+) ms", line) for line in plan]
        return next((float(match[1]) for match in found if match), 0.0)

    def _costly(self, line: str) -> bool:
        """A plan line that reads much more than a page needs: a large scan, or many rows read then dropped."""
        cost = re.search(r"cost=[\d.]+\.\.([\d.]+)", line)
        if "Seq Scan on" in line and cost and float(cost[1]) > 1000:
            return True
        removed = re.search(r"Rows Removed by (?:Filter|Join Filter|Index Recheck): (\d+)", line)
        read = re.search(r"actual time=\S+ rows=(\d+)", line)
        return bool(removed and int(removed[1]) > 10_000) or bool(read and int(read[1]) > 5_000)
