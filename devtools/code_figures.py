"""Lines of code per app and the imports between apps: ``python -m devtools.code_figures [DIR]``.

Counts Python lines outside migrations, and import statements from one app to another that run (not those
under ``if TYPE_CHECKING:``); lists the pairs of domain apps that import each other.
"""

import ast
import sys
from collections import Counter
from pathlib import Path


def figures(root: Path) -> tuple[Counter[str], Counter[tuple[str, str]]]:
    apps = {path.parent.name for path in root.glob("*/apps.py")} | {"helpline"}
    lines: Counter[str] = Counter()
    arrows: Counter[tuple[str, str]] = Counter()
    for app in sorted(apps):
        for path in (root / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            text = path.read_text()
            lines[app] += text.count("\n")
            tree = ast.parse(text)
            typing_only = {
                id(node)
                for block in ast.walk(tree)
                if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
                for node in ast.walk(block)
            }
            for node in ast.walk(tree):
                if id(node) in typing_only:
                    continue
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    target = module.split(".")[0]
                    if target in apps and target != app:
                        arrows[(app, target)] += 1
    return lines, arrows


def main() -> None:
    lines, arrows = figures(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
    for app, count in sorted(lines.items()):
        print(f"{app:15} {count:6} lines")
    print(f"{'total':15} {sum(lines.values()):6} lines")
    domain = {app for app in lines if app not in ("helpline", "devtools")}
    inside = sum(count for (app, target), count in arrows.items() if app in domain and target in domain)
    print(f"imports between apps: {sum(arrows.values())}, of which between domain apps: {inside}")
    both_ways = sorted({tuple(sorted(pair)) for pair in arrows if pair[::-1] in arrows and set(pair) <= domain})
    print("domain apps importing each other:", ", ".join(" and ".join(pair) for pair in both_ways) or "none")


if __name__ == "__main__":
    main()
