"""Imports run one way: the catalog knows nothing of prices, prices nothing of alerts or
collections, and the pages and the API compose them. A module may import its own app,
the apps of lower layers and tcgtracker.lib (plumbing below every app) — at module level
or inside a function alike."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Lowest first. Apps of one layer are peers: neither imports the other.
LAYERS = [
    {"jobs"},
    {"cards"},
    {"prices"},
    {"alerts", "collections_app"},
    {"api", "pages"},
    {"account_data"},  # everything a user has, from every app
]
LAYER_OF = {app: level for level, apps in enumerate(LAYERS) for app in apps}
PROJECT = "tcgtracker"  # settings, urls, wiring: above every app; its lib: below every app


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def allowed(importer: str, module: str) -> bool:
    top = module.split(".")[0]
    if module == f"{PROJECT}.lib" or module.startswith(f"{PROJECT}.lib."):
        return True
    if importer == "lib":
        return top not in LAYER_OF and top != PROJECT
    if top == PROJECT:
        return False
    if top not in LAYER_OF or top == importer:
        return True
    return LAYER_OF[top] < LAYER_OF[importer]


def violations() -> list[str]:
    found = []
    packages = {app: ROOT / app for app in LAYER_OF} | {"lib": ROOT / PROJECT / "lib"}
    for importer, folder in packages.items():
        for path in sorted(folder.rglob("*.py")):
            for module in sorted(imported_modules(path)):
                if not allowed(importer, module):
                    found.append(f"{path.relative_to(ROOT)} imports {module}")
    return found


def test_lower_apps_never_import_higher_ones():
    assert violations() == []


def test_the_contract_catches_an_upward_import():
    assert not allowed("cards", "prices.models")
    assert not allowed("prices", "collections_app.valuation")
    assert not allowed("alerts", "collections_app.models")
    assert not allowed("cards", "tcgtracker.metrics")
    assert not allowed("lib", "prices.sources.base")
    assert allowed("pages", "collections_app.valuation")
    assert allowed("prices", "jobs.runs")
    assert allowed("cards", "tcgtracker.lib.http")


def test_every_app_of_ours_has_a_layer_and_is_crawled():
    from django.apps import apps

    from tests.routes import OUR_APPS

    ours = {
        config.name
        for config in apps.get_app_configs()
        if Path(config.path).resolve().parent == ROOT  # not the virtualenv's
    }
    assert ours == set(LAYER_OF) | {PROJECT}
    assert set(OUR_APPS) == ours
