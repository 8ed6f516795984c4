"""Disclosure control of published statistics: the cell-key method.

This is the method the Australian Bureau of Statistics uses in TableBuilder, where users build
tables on the fly from the same records, as analysts do here.

How it works, in plain words. Every case carries a record key, a random number from 0 to 255 drawn
once when the case is created and never changed. A published count is the number of some set of
rows (cases, or referrals, steps, takedown items or contacts, each carrying the key of its case);
its cell key is the sum of their record keys, modulo 256. The cell key, through a fixed table,
chooses how much the count is changed:

- a count of 0 stays 0 (no case, nothing to protect, and no key);
- a count from 1 to k-1 is published as 0 or as k, each for half the cell keys, whatever the count:
  the published value says nothing about which small count it was;
- a count n >= k is published as n + d, with d from -m to m where m = min(D, n - k), and d has the
  triangular probabilities (m + 1 - |d|) / (m + 1)^2: the change is never more than D, it is 0 on
  average, and nothing published is ever in 1..k-1.

The same set of rows always has the same cell key, so the same figure gets the same value in every
table, report, period and filter that counts it: asking again, or asking the same thing another way,
gains nothing. Totals are perturbed from their own cell keys, so a table need not add up, and
subtracting one published figure from another gives the difference plus noise, not a true count.

Why this method and not the alternatives:

- Targeted record swapping (the UK 2021 census) exchanges the places of some households at risk
  before any table is made. It protects microdata, the record-level risk, but tables built on the
  fly from the swapped records still allow differencing (two tables that differ by one case give
  that case away), and the swaps distort exactly the cross-tabulations analysts need (age by
  region, type by platform) by an amount they cannot be told.
- Differential privacy (OpenDP, Tumult Analytics) gives a provable guarantee, but only against a
  privacy budget that runs out as an analyst asks more questions, or with noise that grows with the
  number of questions; and its answers change every time they are asked unless they are cached,
  which the cell key gives for free. Neither library is made for a report builder that must give
  the same figure every time it is asked, in every table and export.
- The cell-key method gives the same value to the same cell whatever the query, never shows a
  count in 1..k-1, bounds the loss of utility (|change| <= D) and is what the ABS runs for this very
  kind of on-the-fly tables.

Medians and other figures computed from individual values are not perturbed; they are published
only when the true count they are computed from is at least k. Named age schemes and whole periods
only (see reports/forms.py) keep an analyst from averaging many overlapping questions to cancel the
noise.
"""

from functools import lru_cache

from django.conf import settings
from django.utils.translation import gettext

KEYS = 256  # record keys are 0..255, and so are cell keys

CELL_KEY = "cell_key"
SUPPRESSION = "suppression"  # the method of snapshots stored before the cell key


def cell_key(key_sum: int) -> int:
    return key_sum % KEYS


@lru_cache(maxsize=64)
def shifts(m: int) -> tuple[int, ...]:
    """The change d for each of the 256 cell keys when |d| <= m, with triangular probabilities.

    Key i takes the d whose cumulative-probability interval holds (i + 0.5) / 256. In integers: the
    weights are m + 1 - |d|, their total W = (m + 1)^2, and key i falls in d's interval when
    before(d) * 512 <= (2i + 1) * W < (before(d) + weight(d)) * 512. Since 2i + 1 is odd and W is
    far from a multiple of 512, no key sits on a boundary, so key i and key 255 - i take opposite
    changes and the mean change over the keys is exactly 0.
    """
    if m < 0:
        raise ValueError("m cannot be negative")
    total = (m + 1) ** 2
    result = []
    changes = range(-m, m + 1)
    for key in range(KEYS):
        point = (2 * key + 1) * total
        before = 0
        for d in changes:
            weight = m + 1 - abs(d)
            if point < (before + weight) * 2 * KEYS:
                result.append(d)
                break
            before += weight
    return tuple(result)


def perturbed(count: int, key_sum: int, *, threshold: int, spread: int) -> int:
    """The published value of a true count whose rows' record keys add up to ``key_sum``.

    ``threshold`` is k (counts from 1 to k-1 are published as 0 or k), ``spread`` is D (the largest
    change of any other count)."""
    if count < 0:
        raise ValueError("counts cannot be negative")
    if threshold < 2 or spread < 1:
        raise ValueError("the threshold must be at least 2 and the spread at least 1")
    if count == 0:
        return 0
    key = cell_key(key_sum)
    if count < threshold:
        return 0 if key < KEYS // 2 else threshold
    return count + shifts(min(spread, count - threshold))[key]


def configured() -> tuple[int, int]:
    """(k, D) of this deployment."""
    return settings.DISCLOSURE_THRESHOLD, settings.DISCLOSURE_PERTURBATION


def statement(*, threshold: int, spread: int) -> str:
    """What was done to the figures, in words an analyst can quote in a publication."""
    return gettext(
        "To protect the people counted, every figure has been changed slightly by a fixed random amount of "
        "at most ±%(spread)s (the cell-key method of the Australian Bureau of Statistics). Counts from 1 to "
        "%(below)s are shown as 0 or %(threshold)s. Totals are perturbed separately, so tables may not add "
        "up; percentages and changes are computed from the published counts. Medians, percentiles and "
        "averages are shown only when based on %(threshold)s or more. The same figure always has the same "
        "value in every report."
    ) % {"spread": spread, "below": threshold - 1, "threshold": threshold}


def suppression_statement(*, threshold: int) -> str:
    """The method of the snapshots stored before the cell key: small counts and their complements hidden."""
    return gettext(
        "Disclosure-controlled. Counts from 1 to %(below)s are shown as <%(threshold)s; "
        "x marks a count or figure hidden so that a small count cannot be worked back from totals."
    ) % {"below": threshold - 1, "threshold": threshold}
