"""Prescription services. Screening at every door that takes a drug, audited when it blocks."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core import audit, clock
from core.audit import Actor
from prescriptions.screening import Screened, screen


def screen_names(session: Session, actor: Actor, names: list[str], door: str) -> list[Screened]:
    """Screen what a door received; every blocked attempt leaves an audit event."""
    results = [screen(name, clock.today()) for name in names]
    for result in results:
        if result.blocked:
            audit.record(
                session,
                actor,
                "drug.blocked",
                "drug_name",
                result.name[:64],
                {
                    "door": door,
                    "class": result.control_class.value if result.control_class else None,
                    "known": result.known,
                },
            )
    return results
