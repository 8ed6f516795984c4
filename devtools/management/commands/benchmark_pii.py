"""Precision, recall and speed of the free-text guard on the labelled corpus in tests/pii_corpus/.

A finding counts as right when a labelled span of the same kind overlaps it (each labelled span is matched
once); a finding of another kind or where nothing is labelled is a false positive. The generated notes, the
handwritten ones (held out of the templates) and the blind ones (written after the recognisers and never
used to change them) are reported separately, then together.
"""

import json
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases import pii

CORPUS = Path(settings.BASE_DIR) / "tests" / "pii_corpus"
PARTS = ("generated", "handwritten", "blind")


def load(part: str) -> list[dict[str, Any]]:
    path = CORPUS / f"{part}.jsonl"
    if not path.exists():
        raise CommandError(f"{path} is missing: run python tests/pii_corpus/generate.py")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def score(notes: list[dict[str, Any]]) -> tuple[Counter[str], Counter[str], Counter[str], list[str]]:
    true_positives: Counter[str] = Counter()
    false_positives: Counter[str] = Counter()
    false_negatives: Counter[str] = Counter()
    mistakes: list[str] = []
    for note in notes:
        gold = [(span["kind"], span["start"], span["end"]) for span in note["spans"]]
        matched: set[int] = set()
        for finding in pii.find_identifiers(note["text"], region=note["region"]):
            index = next(
                (
                    i
                    for i, (kind, start, end) in enumerate(gold)
                    if i not in matched and kind == finding.kind and start < finding.end and finding.start < end
                ),
                None,
            )
            if index is None:
                false_positives[finding.kind] += 1
                mistakes.append(f"{note['id']} false {finding.kind}: {finding.text!r}")
            else:
                matched.add(index)
                true_positives[finding.kind] += 1
        for index, (kind, start, end) in enumerate(gold):
            if index not in matched:
                false_negatives[kind] += 1
                mistakes.append(f"{note['id']} missed {kind}: {note['text'][start:end]!r}")
    return true_positives, false_positives, false_negatives, mistakes


def ratio(numerator: int, denominator: int) -> str:
    return f"{numerator / denominator:.3f}" if denominator else "  -  "


class Command(BaseCommand):
    help = "Print precision and recall per kind of identifier, and the time to check long and typical notes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--runs", type=int, default=7, help="timing runs (the median is printed)")
        parser.add_argument("--mistakes", action="store_true", help="list every false positive and miss")

    def handle(self, *args: Any, runs: int, mistakes: bool, **options: Any) -> None:
        notes = {part: load(part) for part in PARTS}
        for title, selection in (
            *((part, notes[part]) for part in PARTS),
            ("all", [note for part in PARTS for note in notes[part]]),
        ):
            true_positives, false_positives, false_negatives, errors = score(selection)
            self.stdout.write(f"\n{title}: {len(selection)} notes")
            self.stdout.write(f"{'kind':<15}{'found':>7}{'false':>7}{'missed':>8}{'precision':>11}{'recall':>8}")
            for kind in sorted(pii.LABELS):
                tp, fp, fn = true_positives[kind], false_positives[kind], false_negatives[kind]
                if tp or fp or fn:
                    self.stdout.write(f"{kind:<15}{tp:>7}{fp:>7}{fn:>8}{ratio(tp, tp + fp):>11}{ratio(tp, tp + fn):>8}")
            tp, fp, fn = (sum(counts.values()) for counts in (true_positives, false_positives, false_negatives))
            self.stdout.write(f"{'overall':<15}{tp:>7}{fp:>7}{fn:>8}{ratio(tp, tp + fp):>11}{ratio(tp, tp + fn):>8}")
            if mistakes and title != "all":
                self.stdout.write("\n".join(errors))
        self.stdout.write("")
        texts = [note["text"] for part in PARTS for note in notes[part]]
        long_note = ""
        for text in texts * 10:
            if len(long_note) >= 20_000:
                break
            long_note += text + "\n"
        long_note = long_note[:20_000]
        typical = [text[:300] for text in texts if len(text) >= 200][:200]
        # The corpus is dense: a 20,000-character run of its notes holds some 240 identifiers.
        for regions, region in (("default regions", None), ("a case in Italy", "IT")):
            long_ms = self.median_ms([long_note], region, runs)
            per_call = self.median_ms(typical, region, runs) / len(typical)
            self.stdout.write(
                f"{regions}: 20,000-character note {long_ms:.1f} ms; "
                f"{statistics.mean(map(len, typical)):.0f}-character description {per_call:.2f} ms a call, "
                f"{per_call * 100:.0f} s for 100,000 rows (median of {runs} runs)"
            )

    @staticmethod
    def median_ms(texts: list[str], region: str | None, runs: int) -> float:
        """Median time to check all the texts, in milliseconds."""
        for text in texts:  # warm up: the gazetteer loads on first use
            pii.find_identifiers(text, region=region)
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            for text in texts:
                pii.find_identifiers(text, region=region)
            timings.append((time.perf_counter() - started) * 1000)
        return statistics.median(timings)
