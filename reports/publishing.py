"""The report as a reader may have it: built by the engine, disclosure-controlled unless they may see true counts.

Every report shown or sent (the page, the API, exports) comes from ``published_for``, which reads it where
report figures are read (reports/replica.py); the callers enter ``reading_replica`` themselves to show how old
the replica's figures are, and to answer when it cannot be reached.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import replace

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone, translation

from accounts.models import User
from reports.engine import Params, Report, build_report, may_see_true_counts, publish_report
from reports.replica import reading_replica
from reports.rollups import rollups_as_of
from reports.tables import PublishedTable


def published_for(
    user: User, params: Params, *, progress: Callable[[int, int], None] | None = None, chi: bool = False
) -> tuple[Report, list[PublishedTable], bool]:
    """The report as this user may read it: true counts only where ``may_see_true_counts`` allows.
    With ``chi``, the tables for Child Helpline International (``build_report``).

    A report without a filter is read from the rollups, so until they are counted again the same
    parameters give the same tables: those are kept in the cache, keyed by the moment they were counted.
    """
    with reading_replica():
        return _published_for(user, params, progress=progress, chi=chi)


def _published_for(
    user: User, params: Params, *, progress: Callable[[int, int], None] | None, chi: bool
) -> tuple[Report, list[PublishedTable], bool]:
    suppressed = not may_see_true_counts(user, params)
    as_of = rollups_as_of()
    key = None
    if progress is None and as_of is not None and not params.filtered:
        parts = [params.as_json(), as_of.isoformat(), suppressed]
        parts += [settings.DISCLOSURE_THRESHOLD, settings.DISCLOSURE_PERTURBATION]
        parts += [translation.get_language(), chi]
        key = "report:" + hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
        cached = cache.get(key)
        if cached is not None:
            report, tables, suppressed = cached
            return replace(report, generated_at=timezone.now()), tables, suppressed
    report = build_report(params, progress=progress, as_of=as_of, chi=chi)
    result = report, publish_report(report, suppressed=suppressed), suppressed
    if key is not None and report.as_of == as_of:
        cache.set(key, result, timeout=2 * 60 * settings.ROLLUP_REFRESH_MINUTES)
    return result
