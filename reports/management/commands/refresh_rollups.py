import time
from typing import Any

from django.core.management.base import BaseCommand

from reports.rollups import rollups_refresh


class Command(BaseCommand):
    help = "Write the whole statistics store again (Celery beat takes in changed months every few seconds)."

    def handle(self, *args: Any, **options: Any) -> None:
        began = time.perf_counter()
        if rollups_refresh():
            self.stdout.write(f"Statistics store written in {time.perf_counter() - began:.1f} s.")
        else:
            self.stdout.write("Another refresh is running; nothing done.")
