"""House rules as lint, each with its own test (tests/test_house_rules.py), run by the suite.

`calendar-day`: no `.date()` of a datetime anywhere but core/clock.py. Our instants are aware
UTC; `.date()` of one is the UTC day, which is yesterday in China until 08:00 — a prescription
valid "today", an age on a birthday, a daily limit all go wrong. `core.clock.day_of(instant)` is
the China calendar day, and the only place that may call `.date()`.

`door-imports`: web/ never imports bot/ (but the app factory, which composes both doors), and
bot/ takes no more of web/ than its request plumbing (session, settings, openapi);
what they share of WeChat lives in wechat/.

`state-move`: no `x.state = …`, no record built with `state=…` in a domain package, and no
bare `transitions.move(…)` there, but in core/transitions.py. A state machine is a table; a
state set by hand skips its table's check (a dispensed fulfilment "reserved" again, an expired
prescription approved) and its audit event. `core.transitions.transition(session, MACHINE,
entity, target, actor, …)` checks the move, sets it, audits it and tells whom it concerns.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "core",
    "identity",
    "followup",
    "prescriptions",
    "pharmacy",
    "web",
    "bot",
    "wechat",
    "bench",
)
ALLOWED = {Path("core/clock.py")}


@dataclass(frozen=True)
class Violation:
    path: Path
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.message}"


def calendar_day(source: str, path: Path) -> list[Violation]:
    if path in ALLOWED:
        return []
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "date"
            and not node.args
            and not node.keywords
        ):
            found.append(
                Violation(
                    path,
                    node.lineno,
                    "calendar-day",
                    ".date() of an instant is the UTC day: use core.clock.day_of(instant)",
                )
            )
    return sorted(found, key=lambda v: v.line)


# Where a state is set otherwise, and why: an identity check's outcome is its one step from
# pending, recorded with the provider's answer.
STATE_SETTERS = {
    Path("core/transitions.py"),
    Path("identity/services/verification.py"),
}


DOMAIN = {"core", "identity", "followup", "prescriptions", "pharmacy"}


def _sets_state(node: ast.AST, in_domain: bool) -> bool:
    if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return any(isinstance(t, ast.Attribute) and t.attr == "state" for t in targets)
    if not in_domain or not isinstance(node, ast.Call):
        return False  # the doors build responses with a `state=` field; that sets nothing
    bare_move = (
        isinstance(node.func, ast.Attribute)
        and node.func.attr == "move"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "transitions"
    )
    return bare_move or any(k.arg == "state" for k in node.keywords)


def state_move(source: str, path: Path) -> list[Violation]:
    if path in STATE_SETTERS:
        return []
    in_domain = path.parts[0] in DOMAIN and path.name != "schemas.py"
    found = [
        Violation(
            path,
            node.lineno,
            "state-move",
            "a state is moved by core.transitions.transition(session, MACHINE, entity, target, "
            "actor): checked, audited, told",
        )
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.stmt | ast.expr) and _sets_state(node, in_domain)
    ]
    return sorted(found, key=lambda v: v.line)


# What the bot's webhook, mounted on the same Flask app, shares of the web door: the request's
# session and settings and the OpenAPI decorator — plumbing, not pages or views.
WEB_PLUMBING = {"web.session", "web.settings", "web.openapi"}


def door_imports(source: str, path: Path) -> list[Violation]:
    """web/ reaches WeChat through the wechat/ integration package, never through bot/; only
    the app factory (web/app.py) composes the bot's webhook blueprint into the app. bot/ uses
    no more of web/ than its request plumbing (WEB_PLUMBING)."""
    door = path.parts[0]
    if door not in {"web", "bot"} or path == Path("web/app.py"):
        return []
    other = "bot" if door == "web" else "web"
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        crossing = [n for n in names if n == other or n.startswith(f"{other}.")]
        if door == "bot":
            crossing = [n for n in crossing if n not in WEB_PLUMBING]
        if crossing:
            message = (
                "web/ must not import bot/: use wechat/"
                if door == "web"
                else "bot/ uses only the request plumbing of web/ (session, settings, openapi)"
            )
            found.append(Violation(path, node.lineno, "door-imports", message))
    return found


RULES = (calendar_day, state_move, door_imports)


def check(root: Path = ROOT) -> list[Violation]:
    found: list[Violation] = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root)
            source = path.read_text("utf-8")
            for rule in RULES:
                found.extend(rule(source, relative))
    return found


def main() -> int:
    found = check()
    for violation in found:
        print(violation)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
