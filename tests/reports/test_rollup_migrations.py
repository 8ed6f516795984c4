"""The rollups' SQL lives in migrations, written out; the code that reads the views must match the latest."""

import importlib
from pathlib import Path

from reports import rollups


def latest_views() -> list[tuple[str, str, str]]:
    folder = Path(rollups.__file__).parent / "migrations"
    for path in sorted(folder.glob("0*.py"), reverse=True):
        module = importlib.import_module(f"reports.migrations.{path.stem}")
        if hasattr(module, "VIEWS"):
            return list(module.VIEWS)
    raise AssertionError("no migration creates the rollups")


def test_the_latest_migration_creates_the_views_the_code_reads() -> None:
    assert latest_views() == rollups.view_sql(), (
        "reports/rollups.py changed: write a migration that replaces the views with the new SQL"
    )
