"""The import graph: dependencies point inward, and the domain stays pure.

`domain` <- `jam` <- `ui`; `domain` <- `projections` <- `ui`; `ranking` <- `projections`
(the ranking worker feeds it from the read models); `ranking` itself imports no project package.
Read from the source with `ast`, so nothing is imported to check it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("domain", "jam", "projections", "ranking", "ui")

# Reading or writing the outside world, or the clock, or chance.
IO_AND_CLOCK = frozenset(
    {
        "os",
        "sqlite3",
        "socket",
        "time",
        "random",
        "secrets",
        "psycopg",
        "redis",
        "litestar",
        "pathlib",
        "subprocess",
        "threading",
    }
)

FORBIDDEN = {
    "domain": frozenset(PACKAGES) - {"domain"} | IO_AND_CLOCK,
    "jam": frozenset({"ui", "projections"}),
    "projections": frozenset(PACKAGES) - {"projections", "domain", "ranking"},
    "ranking": frozenset(PACKAGES) - {"ranking"},
    "ui": frozenset(),
}

# The composition root: the `jam` command line wires the layers together and starts
# the web server (`jam serve`, `jam demo`), so it alone may import ui.
COMPOSITION_ROOTS = frozenset({("jam/cli.py", "ui")})

# Calls that read the clock or make up an id.
NONDETERMINISTIC_CALLS = frozenset({"now", "utcnow", "today", "uuid1", "uuid4"})


def source_files(package: str) -> list[Path]:
    folder = ROOT / package
    return sorted(folder.rglob("*.py")) if folder.is_dir() else []


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_modules(package: str, tree: ast.Module) -> Iterator[tuple[str, int]]:
    """Each imported top-level module with its line; relative imports stay in `package`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.partition(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                yield package, node.lineno
            elif node.module:
                yield node.module.partition(".")[0], node.lineno
        elif (
            isinstance(node, ast.Call)
            and _called_name(node) in {"import_module", "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value.partition(".")[0], node.lineno


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return None


def imports_of(
    package: str, *, known: frozenset[tuple[str, str]] = frozenset()
) -> dict[str, list[str]]:
    """Top-level module -> the places (`file:line`) in `package` that import it."""
    found: dict[str, list[str]] = {}
    for path in source_files(package):
        name = path.relative_to(ROOT).as_posix()
        for module, line in imported_modules(package, parse(path)):
            if (name, module) not in known:
                found.setdefault(module, []).append(f"{name}:{line}")
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_dependencies_point_inward(package: str) -> None:
    imports = imports_of(package, known=COMPOSITION_ROOTS)
    breaches = {module: imports[module] for module in sorted(FORBIDDEN[package] & set(imports))}
    assert breaches == {}, f"{package} may not import these modules"


@pytest.mark.parametrize("package", [p for p in PACKAGES if p != "ui"])
def test_only_ui_imports_litestar(package: str) -> None:
    assert "litestar" not in imports_of(package)


def nondeterministic_calls(tree: ast.Module) -> Iterator[tuple[str, int]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called_name(node) in NONDETERMINISTIC_CALLS:
            yield f"{_called_name(node)}()", node.lineno


def test_the_domain_never_reads_the_clock_or_makes_up_ids() -> None:
    calls = [
        f"{path.relative_to(ROOT)}:{line} {call}"
        for path in source_files("domain")
        for call, line in nondeterministic_calls(parse(path))
    ]
    assert calls == []


def test_the_checks_see_the_domains_imports() -> None:
    """Guards against a walker that passes because it finds nothing."""
    assert source_files("domain")
    imports = imports_of("domain")
    assert {"eventsourcing", "domain", "datetime", "uuid", "unicodedata"} <= set(imports)


def test_the_walker_catches_each_kind_of_import() -> None:
    tree = ast.parse(
        "import os.path\n"
        "from jam.commands import PostIdea\n"
        "from . import sibling\n"
        "import importlib\n"
        "importlib.import_module('ui.app')\n"
    )
    assert {module for module, _ in imported_modules("domain", tree)} == {
        "os",
        "jam",
        "domain",
        "importlib",
        "ui",
    }


def test_the_walker_catches_clock_reads_and_made_up_ids() -> None:
    tree = ast.parse(
        "datetime.now(tz=UTC)\n"
        "datetime.datetime.utcnow()\n"
        "date.today()\n"
        "uuid.uuid1()\n"
        "uuid4()\n"
        "uuid5(NAMESPACE, key)\n"
    )
    assert [call for call, _ in nondeterministic_calls(tree)] == [
        "now()",
        "utcnow()",
        "today()",
        "uuid1()",
        "uuid4()",
    ]
