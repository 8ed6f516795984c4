"""devtools stays development tooling: the domain never imports it, and production leaves it out."""

import ast
import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
OUTSIDE = {"devtools", "tests", "var", ".venv", "venv"}


def test_no_domain_module_imports_devtools() -> None:
    offenders = []
    for path in sorted(BASE_DIR.rglob("*.py")):
        if path.relative_to(BASE_DIR).parts[0] in OUTSIDE:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            if any(name == "devtools" or name.startswith("devtools.") for name in names):
                offenders.append(f"{path.relative_to(BASE_DIR)}:{node.lineno}")
    assert offenders == []


def test_development_installs_devtools_and_production_does_not() -> None:
    assert "devtools" in settings.INSTALLED_APPS
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="helpline.example.org",
    )
    result = subprocess.run(
        [sys.executable, "-c", "from helpline import settings; print(settings.INSTALLED_APPS)"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "'imports'" in result.stdout
    assert "devtools" not in result.stdout
