"""Demo data (`hospital seed-demo`): an institution and one account per role, password `demo`.

Later capabilities extend this so that a newcomer can walk every journey after `make run`.
Running it twice changes nothing the second time.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from identity import services as identity
from identity.models import Account, Institution, Role

DEMO_PASSWORD = "demo"  # noqa: S105 - published demo credential, refused outside demo mode
DEMO_INSTITUTION_CODE = "DEMO-HOSP"

DEMO_ACCOUNTS = (
    ("patient", Role.patient, "演示患者"),
    ("doctor", Role.doctor, "王医生"),
    ("pharmacist", Role.pharmacist, "李药师"),
    ("kiosk", Role.kiosk, "演示药房 1 号终端"),
    ("familydoctor", Role.family_doctor, "赵家庭医生"),
    ("admin", Role.admin, "系统管理员"),
)


def seed(session: Session) -> list[str]:
    """Create what is missing; return what was created, for the command to print."""
    created: list[str] = []
    institution = session.scalar(
        select(Institution).where(Institution.code == DEMO_INSTITUTION_CODE)
    )
    if institution is None:
        institution = identity.create_institution(session, DEMO_INSTITUTION_CODE, "演示互联网医院")
        created.append(f"institution {institution.name}")
    for username, role, name in DEMO_ACCOUNTS:
        if session.scalar(select(Account.id).where(Account.username == username)) is None:
            identity.create_account(
                session,
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                display_name=name,
                institution=institution if role is not Role.patient else None,
            )
            created.append(f"account {username} ({role.value})")
    return created
