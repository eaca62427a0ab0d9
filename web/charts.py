"""Charts of home readings against the patient's target band, drawn as SVG on the server:
no script and no CDN, readable by screen readers through their titles."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from core import clock
from followup import classification
from followup.models import Reading, ReadingKind
from followup.services import follow_ups
from identity import rules as identity_rules
from identity.models import Person

PERIOD = dt.timedelta(days=180)


def home_charts(session: Session, person: Person) -> tuple[Markup | None, Markup | None]:
    """The person's blood pressure and glucose over the last half year, against the target
    band for their age (None where there is nothing to draw)."""
    target = classification.target_for(identity_rules.age_on(person.birth_date, clock.today()))
    readings = follow_ups.readings_of(session, person.id, clock.now() - PERIOD)
    return bp_chart(readings, target), glucose_chart(readings, target)


@dataclass(frozen=True)
class Axis:
    low: float
    high: float
    top: int = 10
    bottom: int = 190

    def y(self, value: float) -> float:
        span = self.high - self.low
        return self.bottom - (value - self.low) / span * (self.bottom - self.top)


WIDTH, LEFT, RIGHT = 640, 44, 630


def _x(i: int, n: int) -> float:
    return LEFT + (RIGHT - LEFT) * (i / max(n - 1, 1))


def _svg(title: str, body: str) -> Markup:
    # Only numbers and our own labels go in (the title escaped): nothing a user typed.
    name = escape(title)
    return Markup(  # noqa: S704
        f'<svg viewBox="0 0 {WIDTH} 220" role="img" aria-label="{name}" class="chart">'
        f"<title>{name}</title>{body}</svg>"
    )


def bp_chart(readings: list[Reading], target: classification.Target) -> Markup | None:
    points = [r for r in readings if r.kind is ReadingKind.blood_pressure]
    if not points:
        return None
    axis = Axis(60, 200)
    band_top, band_bottom = axis.y(target.systolic_below), axis.y(90)
    parts = [
        f'<rect x="{LEFT}" y="{axis.y(target.systolic_below):.1f}" width="{RIGHT - LEFT}" '
        f'height="{axis.y(60) - band_top:.1f}" class="band"/>',
        f'<line x1="{LEFT}" x2="{RIGHT}" y1="{band_top:.1f}" y2="{band_top:.1f}" class="limit"/>',
        f'<line x1="{LEFT}" x2="{RIGHT}" y1="{band_bottom:.1f}" y2="{band_bottom:.1f}" '
        'class="limit"/>',
        f'<text x="4" y="{band_top + 4:.1f}">{target.systolic_below}</text>',
        f'<text x="4" y="{band_bottom + 4:.1f}">90</text>',
    ]
    for attr, css in (("systolic", "sys"), ("diastolic", "dia")):
        coords = " ".join(
            f"{_x(i, len(points)):.1f},{axis.y(getattr(r, attr)):.1f}" for i, r in enumerate(points)
        )
        parts.append(f'<polyline points="{coords}" class="{css}"/>')
        for i, r in enumerate(points):
            parts.append(
                f'<circle cx="{_x(i, len(points)):.1f}" cy="{axis.y(getattr(r, attr)):.1f}" '
                f'r="3" class="{css}"><title>{r.systolic}/{r.diastolic}</title></circle>'
            )
    return _svg(f"血压趋势（目标 <{target.systolic_below}/90 mmHg）", "".join(parts))


def glucose_chart(readings: list[Reading], target: classification.Target) -> Markup | None:
    points = [r for r in readings if r.kind is ReadingKind.glucose and r.glucose_mmol]
    if not points:
        return None
    axis = Axis(2, 20)
    limit = axis.y(target.fasting_glucose_below)
    parts = [
        f'<rect x="{LEFT}" y="{limit:.1f}" width="{RIGHT - LEFT}" '
        f'height="{axis.y(3.9) - limit:.1f}" class="band"/>',
        f'<text x="4" y="{limit + 4:.1f}">7.0</text>',
    ]
    coords = " ".join(
        f"{_x(i, len(points)):.1f},{axis.y(r.glucose_mmol or 0):.1f}" for i, r in enumerate(points)
    )
    parts.append(f'<polyline points="{coords}" class="glu"/>')
    return _svg("血糖趋势（空腹目标 <7.0 mmol/L）", "".join(parts))
