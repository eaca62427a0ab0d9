"""The house rules hold in the tree, and each rule catches what it is for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dev import house_rules


def test_the_tree_keeps_the_house_rules() -> None:
    # In its own process: CPython 3.11's AST constructor keeps its recursion depth in state shared
    # by threads, so parsing the whole tree while another test's server thread compiles a Jinja
    # template fails with "AST constructor recursion depth mismatch" (a CPython bug, not ours).
    done = subprocess.run(
        [sys.executable, "-m", "dev.house_rules"],
        cwd=Path(house_rules.__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, "")


def test_calendar_day_catches_the_utc_day_and_lets_the_clock_be() -> None:
    caught = house_rules.calendar_day(
        "age = age_on(birth, now.date())\nday = (now + delta).date()\n", Path("web/x.py")
    )
    assert [v.line for v in caught] == [1, 2]
    allowed = "def day_of(at):\n    return at.astimezone(CHINA).date()\n"
    assert house_rules.calendar_day(allowed, Path("core/clock.py")) == []
    # A date built from parts, or a date's own methods, is not an instant's day.
    fine = "d = dt.date(2026, 1, 1)\nx = d.isoformat()\ny = value.date_of_birth\n"
    assert house_rules.calendar_day(fine, Path("web/x.py")) == []


def test_state_move_catches_a_state_set_by_hand() -> None:
    caught = house_rules.state_move(
        "prescription.state = PrescriptionState.approved\nrow.state: S = S.done\n",
        Path("prescriptions/services/review.py"),
    )
    assert [v.line for v in caught] == [1, 2]
    around = (
        "transitions.move(p, MOVES, S.approved, '处方')\n"
        "x = Prescription(\n    id=1,\n    state=S.written,\n)\n"
    )
    caught = house_rules.state_move(around, Path("prescriptions/services/review.py"))
    assert [v.line for v in caught] == [1, 2]
    fine = (
        "transitions.transition(session, rules.PRESCRIPTION, p, S.approved, actor)\n"
        "x = Prescription(id=1)\nif p.state is S.written:\n    pass\n"
    )
    assert house_rules.state_move(fine, Path("prescriptions/services/review.py")) == []
    # A door builds its response with a state field; that moves nothing.
    assert house_rules.state_move("out = Out(state=p.state.value)\n", Path("web/api/x.py")) == []
    allowed = "entity.state = target\n"
    assert house_rules.state_move(allowed, Path("core/transitions.py")) == []


def test_door_imports_keeps_web_off_the_bot() -> None:
    source = "from bot import conversation\nimport bot.webhook\nfrom wechat import client\n"
    caught = house_rules.door_imports(source, Path("web/h5/views.py"))
    assert [v.line for v in caught] == [1, 2]
    assert house_rules.door_imports(source, Path("web/app.py")) == []
    assert house_rules.door_imports(source, Path("bot/tasks.py")) == []
    # The bot shares the web door's request plumbing, never its views or pages.
    bot_side = "from web.session import db_session\nfrom web.h5 import views\nimport web.api\n"
    caught = house_rules.door_imports(bot_side, Path("bot/webhook.py"))
    assert [v.line for v in caught] == [2, 3]
