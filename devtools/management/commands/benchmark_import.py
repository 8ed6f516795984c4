"""Time the import of a large file of historical cases: check and import, history triggers on.

    manage.py benchmark_import --rows 100000 --format csv

Makes the file here (realistic, anonymised rows drawn like the demo generator's), uploads it for a
supervisor of an "Import benchmark" organisation (created if missing) and runs the import task's
service in this process. The cases stay in the database: run it on a scratch database.
"""

import csv
import io
import random
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pycountry
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone
from openpyxl import Workbook

from accounts.models import Organisation, User
from accounts.roles import Role
from cases.models import Term
from devtools.generator.distributions import AGES_FEMALE, AGES_MALE, FIRST_PLATFORMS, GENDERS, INCIDENTS
from imports import services
from imports.columns import COLUMNS
from imports.models import ImportJob, ImportMode, TextIdentifiers

TYPES = {"financial": 60, "sexual": 28, "relational": 8, "other": 4}
STATUSES = {"closed": 72, "open": 12, "waiting": 8, "new": 4, "reopened": 4}
RISKS = {"low": 33, "medium": 45, "high": 17, "critical": 5}
DEMANDS = {
    "financial": ["money"],
    "sexual": ["more_images", "live_acts"],
    "relational": ["meeting", "more_images"],
    "other": ["other", "money"],
}


def _pick(rnd: random.Random, weights: Mapping[Any, float]) -> Any:
    return rnd.choices(list(weights), weights=list(weights.values()))[0]


def make_rows(count: int, seed: int) -> list[dict[str, Any]]:
    """Rows as a helpline's old system would export them; about 1% with an unknown code and 0.5% with a phone
    number in the text, so that the report and the redaction have work to do."""
    rnd = random.Random(seed)  # noqa: S311 (made-up data, not secrets)
    codes = {
        vocabulary: list(
            Term.objects.filter(vocabulary=vocabulary, active=True, organisation__isnull=True).values_list(
                "code", flat=True
            )
        )
        for vocabulary in (
            "channel",
            "reporter_type",
            "approach",
            "content_type",
            "threat",
            "payment_method",
            "closure_reason",
            "platform",
        )
    }
    platform_labels = dict(
        Term.objects.filter(vocabulary="platform", organisation__isnull=True).values_list("code", "label")
    )
    regions = [s.code for s in pycountry.subdivisions.get(country_code="IT") or []]
    now = timezone.now()
    start = now - timedelta(days=5 * 365)
    span = int((now - start).total_seconds()) - 86_400
    rows = []
    for number in range(count):
        first = start + timedelta(seconds=rnd.randrange(span))
        gender = _pick(rnd, GENDERS)
        kind = _pick(rnd, TYPES)
        status = _pick(rnd, STATUSES)
        platform = _pick(rnd, FIRST_PLATFORMS["young"])
        values: dict[str, Any] = {
            "reference": f"HIST-{seed % 100000}-{number}" if rnd.random() < 0.2 else "",
            "first_contact_at": timezone.localtime(first).strftime("%Y-%m-%d %H:%M"),
            "status": status,
            "risk_level": _pick(rnd, RISKS),
            "self_harm": "yes" if rnd.random() < 0.06 else "no",
            "immediate_danger": "yes" if rnd.random() < 0.01 else "",
            "channel": rnd.choice(codes["channel"]),
            "reporter_type": rnd.choice(codes["reporter_type"]),
            "victim_gender": gender,
            "victim_country": "IT",
            "victim_region": rnd.choice(regions) if regions and rnd.random() < 0.85 else "",
            "sextortion_type": kind,
            "platforms_first_contact": platform,
            "platforms_moved_to": rnd.choice(["snapchat", "whatsapp", "telegram"]) if rnd.random() < 0.45 else "",
            "approaches": ";".join(rnd.sample(codes["approach"], rnd.randint(1, 2))),
            "content_types": rnd.choice(codes["content_type"]),
            "demands": ";".join(DEMANDS[kind]),
            "threats": ";".join(rnd.sample(codes["threat"], rnd.randint(1, 3))),
            "victim_paid": rnd.choice(["yes", "no", "unknown"]) if kind == "financial" else "no",
            "offender_count": rnd.choice(["1", "1", "1", "2", ""]),
            "offender_country": rnd.choice(["NG", "CI", "PH", "IT", "US", ""]),
            "organised_network_suspected": rnd.choice(["yes", "no", "unknown"]),
            "incident_description": rnd.choice(INCIDENTS[kind]).format(platform=platform_labels.get(platform, ""))
            if rnd.random() < 0.9
            else "",
        }
        if rnd.random() < 0.08:
            values["victim_age_unknown"] = "minor" if rnd.random() < 0.6 else "adult"
        else:
            ages = AGES_MALE if gender == "male" else AGES_FEMALE
            values["victim_age"] = str(_pick(rnd, ages))
        if values["victim_paid"] == "yes":
            values["amount_band"] = rnd.choice(["under_50", "50_249", "250_999", "1000_plus", "unknown"])
            values["payment_method"] = rnd.choice(codes["payment_method"])
        if status == "closed":
            closed = min(now - timedelta(minutes=10), first + timedelta(days=rnd.expovariate(1 / 12)))
            values["closure_reason"] = rnd.choice(codes["closure_reason"])
            values["closed_at"] = timezone.localtime(closed).strftime("%Y-%m-%d %H:%M")
        if rnd.random() < 0.01:
            values["channel"] = "carrier_pigeon"
        if rnd.random() < 0.005:
            values["incident_description"] += " He said to call him on +39 333 123 4567."
        rows.append(values)
    return rows


def as_csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[column.name for column in COLUMNS])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def as_xlsx(rows: list[dict[str, Any]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Cases")
    names = [column.name for column in COLUMNS]
    sheet.append(names)
    for values in rows:
        sheet.append([values.get(name, "") for name in names])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


class Command(BaseCommand):
    help = "Time checking and importing a generated file of historical cases (CSV and/or XLSX)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=100_000)
        parser.add_argument("--format", choices=["csv", "xlsx", "both"], default="csv")
        parser.add_argument("--seed", type=int, default=None, help="Default: from the clock, so each run is new.")

    def handle(self, *args: Any, **options: Any) -> None:
        organisation, _ = Organisation.objects.get_or_create(name="Import benchmark", defaults={"country": "IT"})
        user, _ = User.objects.get_or_create(
            username="import-benchmark", defaults={"organisation": organisation, "role": Role.SUPERVISOR}
        )
        seed = options["seed"] if options["seed"] is not None else int(time.time())
        started = time.perf_counter()
        rows = make_rows(options["rows"], seed)
        self.stdout.write(f"{len(rows):,} rows drawn in {time.perf_counter() - started:.1f} s (seed {seed})")
        formats = ["csv", "xlsx"] if options["format"] == "both" else [options["format"]]
        for index, format in enumerate(formats):
            started = time.perf_counter()
            if index:  # the same rows again would be the same cases: new references for the second file
                for values in rows:
                    if values["reference"]:
                        values["reference"] += "x"
            content = as_csv(rows) if format == "csv" else as_xlsx(rows)
            self.stdout.write(
                f"{format.upper()}: {len(content) / 1e6:.1f} MB written in {time.perf_counter() - started:.1f} s"
            )
            self._run(user, content, format, seed)

    def _run(self, user: User, content: bytes, format: str, seed: int) -> None:
        timings: dict[str, float] = {}
        validate = services.import_validate

        def timed_validate(**kwargs: Any) -> Any:
            begun = time.perf_counter()
            try:
                return validate(**kwargs)
            finally:
                timings["check"] = time.perf_counter() - begun

        services.import_validate = timed_validate
        try:
            started = time.perf_counter()
            with transaction.atomic():
                job = services.import_request(
                    user=user,
                    file_name=f"benchmark-{seed}.{format}",
                    content=content,
                    mode=ImportMode.VALID_ONLY,
                    identifiers=TextIdentifiers.REDACT,
                )
            uploaded = time.perf_counter() - started
            services.import_run(job_id=job.pk)
            total = time.perf_counter() - started
        finally:
            services.import_validate = validate
        job = ImportJob.objects.get(pk=job.pk)
        rate = job.total_rows / total if total else 0
        self.stdout.write(
            f"{format.upper()}: {job.status}; {job.total_rows:,} rows, {job.valid_rows:,} valid, "
            f"{job.imported_rows:,} imported, {job.error_count:,} problems, {job.redacted_rows:,} texts redacted"
        )
        self.stdout.write(
            f"{format.upper()}: upload {uploaded:.1f} s, first check {timings.get('check', 0):.1f} s, "
            f"second reading and writing {total - uploaded - timings.get('check', 0):.1f} s; "
            f"total {total:.1f} s, {rate:,.0f} rows/s"
        )
