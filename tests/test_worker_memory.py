"""Each Celery pool process gets a memory ceiling (WORKER_MAX_MEMORY_MB): a task that wants more gets a MemoryError
and fails, instead of taking the machine's memory. Run in a separate process, as the pool runs its tasks."""

import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

PROBE = """
import resource
from celery.signals import worker_process_init
import helpline.celery

worker_process_init.send(sender=None)  # as the prefork pool does in each process it starts
print("ceiling:", resource.getrlimit(resource.RLIMIT_AS)[0])
held = bytearray(64 * 2**20)  # what an ordinary task needs
try:
    bytearray(768 * 2**20)
except MemoryError:
    print("refused")
"""


def said(result: subprocess.CompletedProcess[str]) -> list[str]:
    """What the probe printed (without what the settings may print on the way)."""
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line.startswith(("ceiling:", "refused"))]


def probe(code: str = PROBE, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST", "WORKER_"))}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env={**base, "DATABASE_URL": settings.DATABASE_URL, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_worker_process_cannot_take_more_memory_than_its_ceiling() -> None:
    assert said(probe(WORKER_MAX_MEMORY_MB="512")) == [f"ceiling: {512 * 2**20}", "refused"]


def test_the_ceiling_is_on_by_default_and_can_be_lifted() -> None:
    assert said(probe())[0] == f"ceiling: {2048 * 2**20}"
    assert said(probe(WORKER_MAX_MEMORY_MB="0"))[0] == f"ceiling: {resource.RLIM_INFINITY}"


def test_a_ceiling_too_low_to_run_anything_is_refused() -> None:
    result = probe("import helpline.celery, django.conf; django.conf.settings.DEBUG", WORKER_MAX_MEMORY_MB="100")
    assert result.returncode != 0
    assert "WORKER_MAX_MEMORY_MB must be 0 (no ceiling) or at least 512." in result.stderr


def test_the_pool_processes_of_a_real_worker_get_the_ceiling() -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST", "WORKER_"))}
    env = {
        **base,
        "DATABASE_URL": settings.DATABASE_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_TASK_DEFAULT_QUEUE": "tests-memory-ceiling",  # takes no task of anyone else
        "WORKER_MAX_MEMORY_MB": "700",
    }
    command = [str(Path(sys.executable).parent / "celery"), "-A", "helpline", "worker", "--pool=prefork"]
    worker = subprocess.Popen(
        [*command, "--concurrency=1", "--without-mingle", "--without-gossip", "--loglevel=WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        limits = ""
        while time.monotonic() < deadline and str(700 * 2**20) not in limits:
            time.sleep(0.5)
            children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
            limits = "".join(Path(f"/proc/{child}/limits").read_text() for child in children)
        assert re.search(rf"Max address space\s+{700 * 2**20}\s+{700 * 2**20}", limits), limits
        assert f"{700 * 2**20}" not in Path(f"/proc/{worker.pid}/limits").read_text()  # the pool's processes only
    finally:
        worker.terminate()
        worker.wait(timeout=60)
