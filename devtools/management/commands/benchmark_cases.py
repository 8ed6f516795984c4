import math
import re
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.template.backends import django as django_backend
from django.template.backends import jinja2 as jinja2_backend
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.roles import Role
from cases.models import Case, Note
from devtools.benchmarks import benchmark_user
from helpline.metrics import timing_queries
from referrals.models import Referral


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
    template_times: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def p95(self) -> float:
        ordered = sorted(self.times)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]

    @property
    def template_ms(self) -> float:
        return statistics.median(self.template_times) if self.template_times else 0.0


# The pages a worker has open during a call, with their targets at a million cases: (queries, median ms).
PAGE_TARGETS = {
    "case page": (10, 20.0),
    "case list": (None, 20.0),
    "referral list": (None, 20.0),
    "referral page": (None, None),
}


class Command(BaseCommand):
    help = (
        "Time the staff case list and the API case list with each filter, as a supervisor of the organisation with "
        "the most cases; then the pages a worker has open during a call (case page, case list, referral list, "
        "referral page) with their queries and template time, against their targets. In process (no network), "
        "warm, with DEBUG off."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--runs", type=int, default=20, help="timed requests per filter (default 20)")
        parser.add_argument("--warmups", type=int, default=3, help="untimed requests first (default 3)")
        parser.add_argument("--threshold", type=float, default=50.0, help="a median above this (ms) is slow")
        parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the main query of slow filters")
        parser.add_argument(
            "--user", help="username to measure the filters as (default: a supervisor of the largest org)"
        )
        parser.add_argument("--worker", help="username to measure the pages as (default: a worker of the largest org)")
        parser.add_argument(
            "--case", help="reference of the case to open (default: one with notes, contacts, referrals)"
        )
        parser.add_argument(
            "--only", choices=["filters", "pages"], help="measure only the list filters or only the worker's pages"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["runs"] < 1 or options["warmups"] < 0:
            raise CommandError("--runs must be at least 1 and --warmups at least 0.")
        hosts = [*settings.ALLOWED_HOSTS, "testserver"]
        if options["only"] != "filters":
            worker = self._user(options.get("worker"), role=Role.WORKER)
            with override_settings(DEBUG=False, ALLOWED_HOSTS=hosts):
                self._pages(worker, options.get("case"), options["runs"], options["warmups"])
            if options["only"] == "pages":
                return
            self.stdout.write("")
        user = self._user(options.get("user"))
        organisation = user.organisation
        total = Case.objects.count()
        mine = Case.objects.filter(organisation=organisation).count()
        self.stdout.write(f"Cases in the database: {total:,}; in {organisation.name}: {mine:,}.")
        self.stdout.write(
            f"Measuring as {user.username} ({user.get_role_display()}), "
            f"{options['warmups']} warm-ups then {options['runs']} runs per URL, DEBUG off.\n"
        )
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

    def _user(self, username: str | None, role: Role = Role.SUPERVISOR) -> User:
        option = "--worker" if role == Role.WORKER else "--user"
        return benchmark_user(
            username, role=role, permission="cases.view_case", refusal="does not work on cases", option=option
        )

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

    @contextmanager
    def _signed_in(self, user: User) -> Iterator[Client]:
        """A client signed in as the user past the second factor, as tests.conftest.login_verified does."""
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        temporary = device is None
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="benchmark", confirmed=True)
        client = Client()
        try:
            client.force_login(user)
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
            yield client
        finally:
            client.logout()
            if temporary:
                device.delete()

    def _measure(self, user: User, runs: int, warmups: int) -> list[Result]:
        results = []
        with self._signed_in(user) as client:
            for target, path in (("page", reverse("case_list")), ("api", "/api/v1/cases/")):
                for name, query in self._filters():
                    url = f"{path}?{urlencode(query)}" if query else path
                    results.append(self._one(client, target, name, url, runs, warmups))
                    self.stdout.write(f"  {target:<4} {name:<34} {results[-1].median:8.1f} ms")
        return results

    def _case(self, worker: User, reference: str | None) -> Case:
        """The case to open: the given one, or a recent one with everything a case page shows."""
        cases = Case.objects.filter(organisation_id=worker.organisation_id)
        if reference:
            case = cases.filter(reference=reference).first()
            if case is None:
                raise CommandError(f"{worker.organisation} has no case {reference}.")
            return case
        # Notes are the rarest: start from the cases that have one, then want the rest too.
        noted = Note.objects.filter(case__organisation_id=worker.organisation_id).order_by("-id")
        candidates = cases.filter(pk__in=noted.values("case_id")[:1000])
        full = candidates.filter(
            Exists(Referral.objects.filter(case=OuterRef("pk"))),
            Q(offender_identifiers__isnull=False),
            Q(contacts__isnull=False),
        )
        case = full.order_by("-first_contact_at", "-id").first() or candidates.order_by("-first_contact_at").first()
        if case is None:
            case = cases.filter(Exists(Referral.objects.filter(case=OuterRef("pk")))).order_by("-id").first()
        if case is None:
            raise CommandError(f"{worker.organisation} has no case with a referral: run generate_cases first.")
        return case

    def _pages(self, worker: User, reference: str | None, runs: int, warmups: int) -> None:
        case = self._case(worker, reference)
        referral = case.referrals.order_by("-id").first() or (
            Referral.objects.filter(case__organisation_id=worker.organisation_id).order_by("-id").first()
        )
        counts = {
            name: getattr(case, name).count()
            for name in ("steps", "contacts", "notes", "referrals", "offender_identifiers")
        }
        shown = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items())
        self.stdout.write(
            f"Pages of a call, as {worker.username} ({worker.get_role_display()}), {warmups} warm-ups then "
            f"{runs} runs each, DEBUG off. Case {case.reference}: {shown}.\n"
        )
        pages: list[tuple[str, str, str]] = [("case page", case.reference, reverse("case_detail", args=[case.pk]))]
        case_list = reverse("case_list")
        for name, query in (("no filter", ""), ("status=open", "status=open"), ("mine=true", "mine=true")):
            pages.append(("case list", name, f"{case_list}?{query}" if query else case_list))
        referral_list = reverse("referral_list")
        for name, query in (("mine", ""), ("scope=all", "scope=all"), ("scope=all&overdue", "scope=all&overdue=1")):
            pages.append(("referral list", name, f"{referral_list}?{query}" if query else referral_list))
        if referral is not None:
            pages.append(
                ("referral page", str(referral.get_kind_display()), reverse("referral_detail", args=[referral.pk]))
            )
        results = []
        with self._signed_in(worker) as client:
            for page, name, url in pages:
                results.append(self._one(client, page, name, url, runs, warmups, fresh_cache=False))
        self._pages_table(results)

    def _pages_table(self, results: list[Result]) -> None:
        header = (
            f"{'page':<14} {'what':<20} {'median ms':>10} {'p95 ms':>8} {'queries':>8} {'db ms':>7} "
            f"{'template ms':>12}  target"
        )
        self.stdout.write(header)
        self.stdout.write("-" * (len(header) + 16))
        missed = []
        for r in results:
            most_queries, most_ms = PAGE_TARGETS[r.target]
            wanted = [f"<= {most_queries} queries"] if most_queries is not None else []
            wanted += [f"< {most_ms:.0f} ms"] if most_ms is not None else []
            met = (most_queries is None or r.queries <= most_queries) and (most_ms is None or r.median < most_ms)
            verdict = f"{', '.join(wanted)}: {'met' if met else 'MISSED'}" if wanted else ""
            if not met:
                missed.append(f"{r.target} ({r.name})")
            self.stdout.write(
                f"{r.target:<14} {r.name[:20]:<20} {r.median:>10.1f} {r.p95:>8.1f} {r.queries:>8} {r.db_ms:>7.1f} "
                f"{r.template_ms:>12.1f}  {verdict}"
            )
        self.stdout.write(
            "(median and p95 of the server's time per request; queries and db ms: one extra request, counted; "
            "template ms: median time rendering, with the queries the template and its context processors make)"
        )
        if missed:
            self.stdout.write(self.style.WARNING(f"Targets missed: {'; '.join(missed)}."))
        else:
            self.stdout.write(self.style.SUCCESS("Every target met."))

    @contextmanager
    def _timing_templates(self, into: list[float]) -> Iterator[None]:
        """Add the time of each page template rendered, by Django or by Jinja2 (its includes, widgets and context
        processors too) to ``into``; a template rendered within another, as a widget's may be, is not counted
        twice."""
        classes: tuple[Any, ...] = (django_backend.Template, jinja2_backend.Template)
        renders = [template_class.render for template_class in classes]
        depth = [0]

        def timing(render: Any) -> Any:
            def timed(template: Any, *args: Any, **kwargs: Any) -> Any:
                began = time.perf_counter()
                depth[0] += 1
                try:
                    return render(template, *args, **kwargs)
                finally:
                    depth[0] -= 1
                    if not depth[0]:
                        into.append((time.perf_counter() - began) * 1000)

            return timed

        for template_class, render in zip(classes, renders, strict=True):
            template_class.render = timing(render)
        try:
            yield
        finally:
            for template_class, render in zip(classes, renders, strict=True):
                template_class.render = render

    def _one(
        self, client: Client, target: str, name: str, url: str, runs: int, warmups: int, fresh_cache: bool = True
    ) -> Result:
        statuses = set()
        for _ in range(warmups):
            if fresh_cache:
                cache.clear()
            statuses.add(client.get(url).status_code)
        times = []
        template_times: list[float] = []
        for _ in range(runs):
            # The API throttles per user with a counter in the cache: start each request afresh.
            if fresh_cache:
                cache.clear()
            rendered: list[float] = []
            with self._timing_templates(rendered):
                began = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - began) * 1000)
            template_times.append(sum(rendered))
            statuses.add(response.status_code)
        # One more, counting the queries and the time in them (not counted in the medians: capturing adds its own
        # overhead). Django logs a query's time in whole milliseconds, too coarse for the prepared ones.
        if fresh_cache:
            cache.clear()
        in_database: list[float] = []
        with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timing_queries(in_database)):
            response = client.get(url)
        statuses.add(response.status_code)
        if statuses != {200}:
            raise CommandError(f"{url} answered {sorted(statuses)}, not 200.")
        # Cases listed: results of the API page, rows linking to a case on the staff page.
        rows = len(response.json()["results"]) if target == "api" else response.content.count(b'<td><a href="/cases/')
        # The slowest to explain, of the ORM's: a prepared read is logged without its values, after
        # helpline.rows.LOGGED_PREPARED.
        selects = [q for q in captured.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
        slowest = max(selects, key=lambda q: float(q["time"]), default=None)
        return Result(
            target=target,
            name=name,
            url=url,
            times=times,
            queries=len(captured.captured_queries),
            db_ms=sum(in_database) * 1000,
            rows=rows,
            slowest_sql=slowest["sql"] if slowest else "",
            slowest_ms=float(slowest["time"]) * 1000 if slowest else 0.0,
            template_times=template_times,
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
