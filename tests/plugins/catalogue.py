"""The drug catalogue shipped with the package, loaded into the test's database."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from core.audit import Actor
from prescriptions.services.drugs import LoadReport, load_catalogue


@pytest.fixture
def catalogue(session: Session) -> LoadReport:
    """Every product of the shipped formulary, as `hospital drugs load` puts it in."""
    return load_catalogue(session, Actor.system())
