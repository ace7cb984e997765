"""The layout, enforced: layers import inward, no module imports itself round a circle, every
module lives in a domain folder (or the one shared place of its layer), and app/main.py
stays a factory. docs/architecture.md explains each rule; DOMAINS is its domain table."""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STDLIB = set(sys.stdlib_module_names)

# One name per domain, the same in every layer (docs/architecture.md, "The domains").
DOMAINS = frozenset(
    {
        "members",
        "activity",
        "tasks",
        "badges",
        "tiers",
        "points",
        "rewards",
        "benefits",
        "seasons",
        "leaderboards",
        "analytics",
        "notifications",
        "jobs",
        "programme",
        "documents",
        "webhooks",
        "rules",
    }
)
# What may sit beside the domains in each layer (docs/architecture.md, "What is not a
# domain"): the layer's `shared` place, and the few roots that put the domains together.
NOT_A_DOMAIN = {
    "gamification": {"shared"},
    "app/models": {"shared"},
    "app/services": {"shared"},
    "app/api": {"shared", "http", "schema"},
    "workers": {"settings"},
    # The web pages are cut by audience, not by domain: each page reads several domains
    # through the schema (docs/architecture.md, "The web pages").
    "app/web": {"shared", "console", "portal", "routes"},
    # app's own top level: the platform every layer stands on, and the two entry points.
    "app": {"config", "db", "dialect", "auth", "clock", "observability", "main", "cli"},
}
# The test trees mirror the code: tests/<layer>/<domain>/.
TEST_LAYERS = {
    "tests/gamification": {"shared"},
    "tests/services": {"shared"},
    "tests/api": {"shared", "http", "schema"},
    "tests/web": {"shared", "console", "portal", "browser"},
}
PACKAGES = ("app", "gamification", "workers")


# -- reading the code ------------------------------------------------------------------------


def python_files(package: str, *, migrations: bool = True) -> Iterator[Path]:
    for path in sorted((ROOT / package).rglob("*.py")):
        if migrations or "migrations" not in path.relative_to(ROOT).parts:
            yield path


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(path: Path) -> list[str]:
    """Every module a file names in an import, at any depth (the layer rules)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def module_level_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """The imports a module runs when it is imported: those at its top level, in top-level
    ``if``/``try`` blocks too, but not under ``if TYPE_CHECKING:`` (never run) nor inside
    functions (run when called, after every module has loaded)."""
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop(0)
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            pending += node.orelse if _is_type_checking(node.test) else node.body + node.orelse
        elif isinstance(node, ast.Try):
            pending += node.body + node.orelse + node.finalbody
            for handler in node.handlers:
                pending += handler.body


def import_graph(packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports when loaded. ``from a.b import c`` depends
    on ``a.b``, and on ``a.b.c`` too when that is a module."""
    files = {
        module_name(p): p for package in packages for p in python_files(package, migrations=False)
    }
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in module_level_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                edges |= {alias.name for alias in node.names}
                continue
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            edges.add(base)
            edges |= {f"{base}.{alias.name}" for alias in node.names}
        graph[name] = {m for m in edges if m in files and m != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of imports (its modules in order, the first repeated at the end), or None."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path: list[str] = []
        on_path: set[str] = set()
        stack = [(start, iter(sorted(graph[start])))]
        path.append(start)
        on_path.add(start)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                on_path.discard(node)
                done.add(node)
            elif child in on_path:
                return [*path[path.index(child) :], child]
            elif child not in done:
                stack.append((child, iter(sorted(graph[child]))))
                path.append(child)
                on_path.add(child)
    return None


def offenders(package: str, allowed: Callable[[str], bool]) -> list[str]:
    return sorted(
        f"{p.relative_to(ROOT)}: {m}"
        for p in python_files(package)
        for m in imported_names(p)
        if not allowed(m)
    )


def top(module: str) -> str:
    return module.split(".")[0]


# -- layer direction: workers -> app.api -> app.services -> app.models -> gamification -------


def test_gamification_uses_only_the_standard_library():
    own = {"gamification", "__future__"}
    assert offenders("gamification", lambda m: top(m) in STDLIB or top(m) in own) == []


def test_app_never_imports_workers():
    assert offenders("app", lambda m: top(m) != "workers") == []


@pytest.mark.parametrize("package", ["app/services", "app/models"])
def test_services_and_models_know_nothing_of_the_web(package):
    web = {"strawberry", "starlette", "graphql", "uvicorn", "arq"}
    assert offenders(package, lambda m: top(m) not in web) == []


@pytest.mark.parametrize(
    ("package", "above"),
    [
        ("app/models", ("app.services", "app.api", "app.web", "app.main", "app.cli")),
        ("app/services", ("app.api", "app.web", "app.main", "app.cli")),
        ("app/api", ("app.web", "app.main", "app.cli")),
        ("gamification", ("app",)),
    ],
)
def test_a_layer_never_imports_the_layers_above_it(package, above):
    def allowed(m: str) -> bool:
        return not any(m == a or m.startswith(a + ".") for a in above)

    assert offenders(package, allowed) == []


def test_the_api_never_imports_workers_or_arq():
    assert offenders("app/api", lambda m: top(m) not in {"workers", "arq"}) == []


def test_the_web_pages_read_and_write_only_through_the_schema():
    """No models, no ORM and no use case called directly: a page runs GraphQL operations
    (app/api/http/in_process.py), so roles, validation and typed failures are the API's.
    The one service it names is the live-update broker's type, which it listens to."""
    listened = {"app.services.notifications.updates"}

    def allowed(m: str) -> bool:
        if top(m) in {"tortoise", "strawberry", "graphql"} or m.startswith("app.models"):
            return False
        return not m.startswith("app.services") or m in listened

    assert offenders("app/web", allowed) == []


def test_workers_never_import_the_api():
    bad = [
        f"{p.relative_to(ROOT)}"
        for p in (ROOT / "workers").rglob("*.py")
        if "app.api" in p.read_text()
    ]
    assert bad == []


def test_only_the_api_imports_strawberry():
    outside = [
        f"{p.relative_to(ROOT)}: {m}"
        for package in PACKAGES
        for p in python_files(package)
        if not p.relative_to(ROOT).as_posix().startswith("app/api/")
        for m in imported_names(p)
        if top(m) == "strawberry"
    ]
    assert outside == []


# -- no import cycles --------------------------------------------------------------------------


def test_no_module_imports_itself_round_a_circle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_circle_and_only_a_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_imports_for_type_checking_or_inside_functions_make_no_edge():
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "import app.config\n"
        "if TYPE_CHECKING:\n    import app.db\n"
        "def later():\n    import app.auth\n"
    )
    assert [ast.unparse(n) for n in module_level_imports(tree)] == [
        "from typing import TYPE_CHECKING",
        "import app.config",
    ]


# -- every module in a domain ------------------------------------------------------------------


def misplaced(layer: str) -> list[str]:
    """Modules of ``layer`` whose first name under it is neither a domain nor one of the
    layer's non-domain places."""
    bad = []
    root = ROOT / layer
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.name == "__init__.py" and len(relative.parts) == 1:
            continue
        first = relative.parts[0].removesuffix(".py")
        if first not in DOMAINS | NOT_A_DOMAIN[layer]:
            bad.append(path.relative_to(ROOT).as_posix())
    return bad


@pytest.mark.parametrize(
    "layer", ["gamification", "app/models", "app/services", "app/api", "app/web", "workers"]
)
def test_every_module_lives_in_a_domain_or_its_layers_shared_place(layer):
    assert misplaced(layer) == []


def test_app_holds_only_its_layers_the_platform_and_the_entry_points():
    layers = {"models", "services", "api", "web", "migrations", "__init__"}
    found = {p.name.removesuffix(".py") for p in (ROOT / "app").iterdir() if p.suffix == ".py"}
    folders = {p.name for p in (ROOT / "app").iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert found - layers - NOT_A_DOMAIN["app"] == set()
    assert folders - layers == set()


@pytest.mark.parametrize("layer", sorted(TEST_LAYERS))
def test_the_tests_mirror_the_domains(layer):
    root = ROOT / layer
    bad = [
        path.relative_to(ROOT).as_posix()
        for path in sorted(root.rglob("*.py"))
        if len(path.relative_to(root).parts) > 1
        and path.relative_to(root).parts[0] not in DOMAINS | TEST_LAYERS[layer]
    ]
    loose = [
        p.relative_to(ROOT).as_posix() for p in sorted(root.glob("*.py")) if p.name != "__init__.py"
    ]
    assert (bad, loose) == ([], [])


def test_a_module_outside_any_domain_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "app" / "services" / "tiers").mkdir(parents=True)
    (tmp_path / "app" / "services" / "tiers" / "ladder.py").write_text("")
    (tmp_path / "app" / "services" / "board_sql.py").write_text("")
    assert misplaced("app/services") == ["app/services/board_sql.py"]


# -- a thin app/main.py ------------------------------------------------------------------------


def main_offences(source: str) -> list[str]:
    """Why a main module is more than a factory: it imports strawberry (or graphql), or it
    defines a resolver (a strawberry-decorated class or function, or one taking ``info``)."""
    tree = ast.parse(source)
    found = [
        f"imports {m}"
        for m in imported_names_of(tree)
        if top(m) in {"strawberry", "graphql", "cross_web"}
    ]
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            decorators = [ast.unparse(d) for d in node.decorator_list]
            if any(d.startswith("strawberry") for d in decorators):
                found.append(f"defines {node.name} for the schema")
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if any(a.arg == "info" for a in node.args.args + node.args.kwonlyargs):
                found.append(f"defines the resolver {node.name}")
    return found


def imported_names_of(tree: ast.Module) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_main_is_a_factory_a_lifespan_and_routes():
    assert main_offences((ROOT / "app" / "main.py").read_text()) == []


def test_a_main_with_a_resolver_or_strawberry_is_refused():
    source = (
        "import strawberry\n"
        "@strawberry.type\nclass Query:\n    x: int\n"
        "async def me(self, info): ...\n"
    )
    assert main_offences(source) == [
        "imports strawberry",
        "defines Query for the schema",
        "defines the resolver me",
    ]


def domain_table() -> dict[str, list[str]]:
    """docs/architecture.md's table of the domains: domain -> its cells, one per layer."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("\n## The domains\n", 1)[1].split("\n## ", 1)[0]
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("| ") and not line.startswith("| domain ")
    ]
    return {row[0]: row[2:] for row in rows}


def test_the_docs_list_the_same_domains():
    assert set(domain_table()) == DOMAINS


@pytest.mark.parametrize(
    ("column", "layer"),
    list(enumerate(["gamification", "app/models", "app/services", "app/api", "workers"])),
)
def test_the_docs_name_each_domains_modules_as_they_are(column, layer):
    """A cell names the domain's module (`tasks.py`) or its package and modules
    (`tasks/` catalogue, progress), or is empty when the layer has nothing of it."""
    wrong = []
    for domain, cells in domain_table().items():
        package, module = ROOT / layer / domain, ROOT / layer / f"{domain}.py"
        if package.is_dir():
            modules = sorted(p.stem for p in package.glob("*.py") if p.name != "__init__.py")
            listed = cells[column].removeprefix(f"`{domain}/`").split(",")
            found = sorted(name.strip() for name in listed)
            expected = modules
        else:
            found = [cells[column]]
            expected = [f"`{domain}.py`" if module.exists() else ""]
        if found != expected:
            wrong.append(f"{layer} {domain}: the docs say {found}, the tree has {expected}")
    assert wrong == []
