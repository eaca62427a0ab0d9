"""Rules of the return visit: who may have one online, and how a visit moves through its
states (互联网诊疗管理办法 第十六条: no first visits online; a changed condition ends the
online visit)."""

from __future__ import annotations

import datetime as dt

from core import transitions
from core.errors import DomainError
from followup.catalogue import disease_for
from followup.models import (
    ConsultationState,
    ContractState,
    DiagnosisStatus,
    OfflineDiagnosis,
    ReferralState,
)

S = ConsultationState
TRANSITIONS: dict[ConsultationState | None, frozenset[ConsultationState]] = {
    None: frozenset({S.requested}),
    S.requested: frozenset({S.accepted, S.cancelled, S.expired}),
    S.accepted: frozenset({S.in_progress, S.referred, S.cancelled}),
    S.in_progress: frozenset({S.completed, S.referred, S.cancelled}),
    S.completed: frozenset(),
    S.referred: frozenset(),
    S.cancelled: frozenset(),
    S.expired: frozenset(),
}
VISIT = transitions.Machine("consultation", "问诊", TRANSITIONS)


R = ReferralState
# How the hospital platform may move a referral: forward only; a booking may be moved to
# another time (booked → booked) or cancelled by the hospital (booked → declined).
# A family-doctor contract: active for its term, then ended (term out, renewed) or terminated.
CONTRACT_MOVES: dict[ContractState | None, frozenset[ContractState]] = {
    None: frozenset({ContractState.active}),
    ContractState.active: frozenset({ContractState.ended, ContractState.terminated}),
    ContractState.ended: frozenset(),
    ContractState.terminated: frozenset(),
}
REFERRAL_TRANSITIONS: dict[ReferralState | None, frozenset[ReferralState]] = {
    None: frozenset({R.requested}),
    R.requested: frozenset({R.accepted, R.booked, R.declined}),
    R.accepted: frozenset({R.booked, R.declined}),
    R.booked: frozenset({R.booked, R.declined}),
    R.declined: frozenset(),
}
REFERRAL = transitions.Machine("referral", "转诊", REFERRAL_TRANSITIONS)
# A contract's moves are written into the person's history (audited on the person).
CONTRACT = transitions.Machine(
    "contract",
    "签约",
    CONTRACT_MOVES,
    {ContractState.ended: "contract.end", ContractState.terminated: "contract.terminate"},
)


class FirstVisitNotAllowed(DomainError):
    code = "first_visit_not_allowed"
    status = 422
    title = "互联网医院不提供首诊"


class ConsentRequired(DomainError):
    code = "consent_required"
    status = 422
    title = "请先阅读并同意互联网复诊知情同意书"


def check_return_visit(
    diagnosis: OfflineDiagnosis | None, person_id: int, today: dt.date, window_days: int
) -> None:
    """A return visit needs a confirmed offline diagnosis of this patient, of a disease
    eligible online, made within the window. Otherwise it is a first visit: in person only."""
    if diagnosis is None or diagnosis.person_id != person_id:
        raise FirstVisitNotAllowed("没有该就诊人在实体医院的确诊记录，首诊请到医院就诊")
    if diagnosis.status is DiagnosisStatus.pending:
        raise FirstVisitNotAllowed("您上传的诊断资料尚待医生确认，确认后方可在线复诊")
    if diagnosis.status is not DiagnosisStatus.confirmed:
        raise FirstVisitNotAllowed("该诊断资料未通过医生确认，请到医院就诊")
    if disease_for(diagnosis.icd10_code) is None:
        raise FirstVisitNotAllowed(f"“{diagnosis.disease_name}”不在可在线复诊的病种范围内")
    if (today - diagnosis.diagnosed_on).days > window_days:
        months = window_days // 30
        raise FirstVisitNotAllowed(
            f"该诊断距今已超过 {months} 个月，请先到医院复查确诊后再在线复诊"
        )
