"""The house rules: every package says what it may import, and no module imports
more.

A package's `__init__.py` docstring ends with a `May import:` line naming the
rooms (dotted prefixes) its modules may import besides their own package, the
standard library and third-party libraries; a loose module may carry its own
line. "nothing." allows no other room, "the standard library only." allows no
third-party library either.
"""

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.base import REPO

pytestmark = pytest.mark.unit

ROOTS = ("seeker", "channel", "giver", "images/sdk/seekgive_sdk")
PROJECT = {"seeker", "channel", "giver", "seekgive_sdk"}
STDLIB_ONLY = "the standard library only."


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    if parts[:2] == ("images", "sdk"):
        parts = parts[2:]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> Iterator[Path]:
    for root in ROOTS:
        yield from sorted((REPO / root).rglob("*.py"))


def rule_of(path: Path) -> str | None:
    """The text after `May import:` in the module's docstring, if it has one."""
    docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
    _, found, rule = docstring.partition("May import:")
    return " ".join(rule.split()) if found else None


def governing(path: Path) -> tuple[str, str]:
    """The rule that holds for `path` and the room it was written for: the module's
    own, else its nearest package's."""
    own = rule_of(path)
    if own is not None:
        return own, module_name(path)
    for package in path.parents:
        init = package / "__init__.py"
        if init.is_file() and (rule := rule_of(init)) is not None:
            return rule, module_name(init)
        if package == REPO:
            break
    raise AssertionError(f"{path.relative_to(REPO)}: no `May import:` line governs it")


def allowed(rule: str) -> tuple[str, ...]:
    if rule in ("nothing.", STDLIB_ONLY):
        return ()
    return tuple(name.strip() for name in rule.rstrip(".").split(","))


def imported(path: Path) -> Iterator[tuple[int, str]]:
    """Every absolute import in the module, as the dotted module it names: for
    `from a import b`, `a.b` when that is a module, else `a`."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                yield node.lineno, full if _is_module(full) else node.module


def _is_module(dotted: str) -> bool:
    base = REPO / "images" / "sdk" if dotted.startswith("seekgive_sdk") else REPO
    path = base.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or path.is_dir()


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("path", list(modules()), ids=lambda p: str(p.relative_to(REPO)))
def test_a_module_imports_only_what_its_package_allows(path: Path) -> None:
    rule, room = governing(path)
    wrong = []
    for line, name in imported(path):
        top = name.split(".")[0]
        if rule == STDLIB_ONLY:
            if top not in sys.stdlib_module_names and not within(name, room):
                wrong.append(f"line {line}: {name} (not the standard library)")
            continue
        if top not in PROJECT or within(name, room):
            continue
        if not any(within(name, prefix) for prefix in allowed(rule)):
            wrong.append(f"line {line}: {name}")
    assert not wrong, f"{room} may import {rule!r}, yet imports: " + "; ".join(wrong)


def test_every_room_says_what_it_may_import() -> None:
    """A package directly inside a top-level package is a room: it has its own rule
    (a package deeper down may follow its room's)."""
    silent = [
        str(init.relative_to(REPO))
        for root in ROOTS
        for init in sorted((REPO / root).glob("*/__init__.py"))
        if rule_of(init) is None
    ]
    assert not silent


def test_the_rooms_allow_no_cycle() -> None:
    rules = {}
    for path in modules():
        rule = rule_of(path)
        if rule is not None:
            rules[module_name(path)] = allowed(rule)
    owners = sorted(rules, key=len, reverse=True)

    def owner(name: str) -> str | None:
        return next((room for room in owners if within(name, room)), None)

    edges = {
        room: {o for prefix in names if (o := owner(prefix)) is not None and o != room}
        for room, names in rules.items()
    }
    done: set[str] = set()

    def visit(room: str, path: tuple[str, ...]) -> None:
        assert room not in path, "the rooms allow a cycle: " + " -> ".join((*path, room))
        if room in done:
            return
        for other in sorted(edges[room]):
            visit(other, (*path, room))
        done.add(room)

    for room in sorted(edges):
        visit(room, ())
