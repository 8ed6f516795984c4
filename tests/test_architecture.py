"""The apps stand in layers (docs/architecture.md): each imports only the apps below it."""

import ast
from pathlib import Path

from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
LAYERS = [
    {"audit"},
    {"accounts"},
    {"drafts"},
    {"cases"},
    {"referrals"},
    {"imports", "reports", "supervision", "retention", "notifications", "health", "guidance"},
]
LAYER = {app: number for number, apps in enumerate(LAYERS) for app in apps}
# accounts tells supervisors of account changes; notifications needs the users it tells.
# supervision tells supervisors that someone asked for a debrief; notifications knows nothing of supervision.
UPWARD = {("accounts", "notifications"), ("supervision", "notifications")}
# What every app may use of the project package; its URL conf and home page put the apps together.
SHARED = {
    "helpline",
    "helpline.admin",
    "helpline.celery",
    "helpline.client_address",
    "helpline.gate",
    "helpline.rows",
    "helpline.web",
}


def runtime_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module == "helpline":
            found += [(node.lineno, f"helpline.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def test_the_layers_name_every_app() -> None:
    apps = {path.parent.name for path in BASE_DIR.glob("*/apps.py")} - {"devtools"}
    assert apps == set(LAYER)


def test_every_app_imports_only_the_apps_below_it() -> None:
    offenders = []
    for app, layer in LAYER.items():
        for path in sorted((BASE_DIR / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for line, module in runtime_imports(path):
                target = module.split(".")[0]
                project = target == "helpline" and module not in SHARED
                upward = target in LAYER and target != app and LAYER[target] >= layer and (app, target) not in UPWARD
                if project or upward:
                    offenders.append(f"{path.relative_to(BASE_DIR)}:{line} imports {module}")
    assert offenders == []
