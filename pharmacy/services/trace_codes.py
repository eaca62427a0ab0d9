"""Drug traceability codes (药品追溯码, FACTS.md §9.5): from 2026-01-01 every box dispensed is
scanned, its code captured in full and uploaded; a code dispensed once is never dispensed
again. The code on Chinese drug boxes is 20 digits (the first 7 identify the product)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from pharmacy import rules
from pharmacy.models import DispensedBox

TRACE_CODE = re.compile(r"^\d{20}$")
MAX_BOXES = 200  # per prescription: five drugs of twelve weeks is far below


def parse(scanned: Sequence[str], kinds_of_drug: int) -> list[str]:
    """The codes as scanned (a scanner may add spaces or dashes), checked: 20 digits each,
    no box twice, at least one box of every drug on the prescription."""
    codes = [re.sub(r"[\s-]", "", raw) for raw in scanned if raw.strip()]
    bad = [c for c in codes if not TRACE_CODE.match(c)]
    if bad:
        raise rules.TraceCodeInvalid(f"无效的追溯码：{'、'.join(bad[:3])}", codes=bad[:10])
    if len(set(codes)) != len(codes):
        raise rules.TraceCodeInvalid("同一盒扫描了两次")
    if len(codes) > MAX_BOXES:
        raise rules.TraceCodeInvalid(f"一次最多 {MAX_BOXES} 盒")
    if len(codes) < kinds_of_drug:
        raise rules.TraceCodesMissing(
            f"处方有 {kinds_of_drug} 种药品，只扫描了 {len(codes)} 盒", needed=kinds_of_drug
        )
    return codes


def ensure_never_dispensed(session: Session, codes: list[str]) -> None:
    seen = list(
        session.scalars(select(DispensedBox.trace_code).where(DispensedBox.trace_code.in_(codes)))
    )
    if seen:
        raise rules.TraceCodeReused(f"已发出过：{'、'.join(seen[:3])}", codes=seen)


def record(session: Session, dispensing_id: int, codes: list[str]) -> None:
    session.add_all(DispensedBox(trace_code=c, dispensing_id=dispensing_id) for c in codes)
    session.flush()
