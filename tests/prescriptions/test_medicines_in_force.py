"""Medication safety across prescriptions: the ways around each rule (another brand of the same
ingredient, a second doctor, the next day, a split into several prescriptions), interactions
by severity with their sources, and the medicines the patient reports taking."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.audit import Actor
from core.models import AuditEvent
from identity.models import Account, Practitioner
from identity.rules import PractitionerKind, Title
from prescriptions import medication, rules
from prescriptions.medication import Severity
from prescriptions.models import Prescription, PrescriptionState
from prescriptions.rules import ItemDraft
from prescriptions.services import prescribing, reported, review
from prescriptions.services.drugs import LoadReport
from tests import factories
from tests.helpers import bearer, csrf_token, sign_in


@dataclass
class World:
    session: Session
    patient: Account
    diagnosis: Any
    doctor: Practitioner
    other_doctor: Practitioner
    pharmacist: Practitioner

    def write(
        self,
        *drugs: tuple[str, float, int, int],
        doctor: Practitioner | None = None,
        stable: str | None = None,
        on: dt.datetime | None = None,
    ) -> Prescription:
        by = doctor or self.doctor
        visit = factories.consultation(self.patient, self.diagnosis, by)
        draft = prescribing.Draft(
            items=[ItemDraft(*d) for d in drugs], routes=[""] * len(drugs),
            stable_chronic_reason=stable,
        )  # fmt: skip
        written = prescribing.prescribe(
            self.session, by.account, visit.id, draft, on or clock.now()
        )
        return prescribing.sign(self.session, by.account, written.id, on or clock.now())

    def assess(self, prescription: Prescription) -> list[medication.Finding]:
        return review.assess(prescription, clock.today())


@pytest.fixture
def world(session: Session, catalogue: LoadReport) -> World:
    patient = factories.verified_patient()
    assert patient.person is not None
    return World(
        session,
        patient,
        factories.diagnosis(patient.person),
        factories.practitioner(),
        factories.practitioner(),
        factories.practitioner(
            kind=PractitionerKind.pharmacist, department="药剂科", title=Title.pharmacist
        ),
    )


VALSARTAN_28 = ("缬沙坦", 80, 1, 28)


def test_a_second_prescription_of_the_same_drug_is_refused_whoever_writes_it(world: World) -> None:
    first = world.write(VALSARTAN_28)
    # Another doctor, by the brand name: the patient would hold 56 days.
    with pytest.raises(rules.SupplyInForceTooLong, match="合计 56 天"):
        world.write(("代文", 80, 1, 28), doctor=world.other_doctor)
    # The next day, once the first was dispensed: 27 days left, 55 in all.
    first.state, first.redeemed_at = PrescriptionState.approved, clock.now()
    with pytest.raises(rules.SupplyInForceTooLong, match="合计 55 天"):
        world.write(("缬沙坦胶囊", 80, 1, 28), on=clock.now() + dt.timedelta(days=1))


def test_splitting_the_supply_cannot_exceed_it(world: World) -> None:
    world.write(("缬沙坦", 80, 1, 14))
    second = world.write(("缬沙坦", 80, 1, 14))  # 28 in all: allowed, shown as a refill
    assert [f.code for f in world.assess(second)] == ["already_in_force"]
    with pytest.raises(rules.SupplyInForceTooLong):
        world.write(("缬沙坦", 80, 1, 1))


def test_what_was_dispensed_counts_for_its_days_of_supply(world: World) -> None:
    first = world.write(VALSARTAN_28)
    first.state = PrescriptionState.approved
    first.redeemed_at = clock.now() - dt.timedelta(days=20)  # 8 days left
    with pytest.raises(rules.SupplyInForceTooLong, match="合计 36 天"):
        world.write(VALSARTAN_28)
    world.write(("缬沙坦", 80, 1, 20))  # 8 + 20 = 28
    first.redeemed_at = clock.now() - dt.timedelta(days=40)  # long finished


def test_expired_and_returned_prescriptions_do_not_count(world: World) -> None:
    first = world.write(VALSARTAN_28)
    first.state = PrescriptionState.expired
    second = world.write(VALSARTAN_28)
    second.state = PrescriptionState.rejected
    world.write(VALSARTAN_28)


def test_a_stable_chronic_patient_may_hold_twelve_weeks_and_no_more(world: World) -> None:
    reason = "高血压病情稳定两年，血压控制达标"
    world.write(VALSARTAN_28, stable=reason)
    world.write(("缬沙坦", 80, 1, 56), stable=reason)
    with pytest.raises(rules.SupplyInForceTooLong, match="超过 84 天"):
        world.write(("缬沙坦", 80, 1, 1), stable=reason)


def test_dual_raas_blockade_needs_the_pharmacists_reason(world: World) -> None:
    valsartan = world.write(VALSARTAN_28)
    benazepril = world.write(("洛汀新", 10, 1, 28))  # the doctor may write it: it is major
    findings = world.assess(benazepril)
    dual = [f for f in findings if "双重 RAAS" in f.message]
    assert [f.severity for f in dual] == [Severity.major]
    assert "ONTARGET" in (dual[0].source or "")
    session, account, now = world.session, world.pharmacist.account, clock.now()
    first = review.claim_next(session, account, now)  # the queue is oldest first
    assert first is not None
    assert first.id == valsartan.id
    review.approve(session, account, valsartan.id, now, "既往联用")
    claimed = review.claim_next(session, account, now)
    assert claimed is not None
    assert claimed.id == benazepril.id
    with pytest.raises(review.OverrideReasonRequired, match="双重 RAAS"):
        review.approve(session, account, benazepril.id, now)
    reason = "心内科会诊建议联用，已告知监测血钾与肌酐"
    approved = review.approve(session, account, benazepril.id, now, reason)
    assert approved.state is PrescriptionState.approved
    assert approved.review_note == reason
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "prescription.approve")
    ).all()[-1]
    assert "interaction" in event.detail["overridden"]


def test_two_drugs_of_one_class_are_a_duplication(world: World) -> None:
    world.write(VALSARTAN_28)
    losartan = world.write(("氯沙坦", 50, 1, 28))
    codes = {f.code: f.severity for f in world.assess(losartan)}
    assert codes["therapeutic_duplication"] is Severity.major


def test_dual_antiplatelet_therapy_is_not_a_duplication(world: World) -> None:
    both = world.write(("阿司匹林", 100, 1, 28), ("氯吡格雷", 75, 1, 28))
    assert world.assess(both) == []
    ppi = world.write(("奥美拉唑", 20, 1, 28))
    findings = world.assess(ppi)
    assert [(f.code, f.severity) for f in findings] == [("interaction", Severity.minor)]
    assert "CYP2C19" in findings[0].message


def _report(world: World, name: str) -> None:
    reported.report(world.session, world.patient, None, name, clock.now())


def test_a_medicine_the_patient_reports_is_checked_too(world: World) -> None:
    _report(world, "克拉霉素")  # an antibiotic from another hospital, not in our catalogue
    with pytest.raises(rules.InteractionContraindicated, match="横纹肌溶解"):
        world.write(("辛伐他汀", 20, 1, 28))
    _report(world, "华法林")
    ibuprofen = world.write(("布洛芬", 300, 2, 7))
    messages = [f.message for f in world.assess(ibuprofen) if f.severity is Severity.major]
    assert any("出血" in m for m in messages)


def test_two_qt_prolonging_drugs_are_major(world: World) -> None:
    _report(world, "可达龙")  # amiodarone, by its brand
    domperidone = world.write(("吗丁啉", 10, 3, 7))
    assert "qt_prolongation" in {f.code for f in world.assess(domperidone)}


def test_a_reported_medicine_stops_counting_when_stopped(world: World) -> None:
    _report(world, "克拉霉素")
    row = reported.current(world.session, world.patient.person_id or 0)[0]
    reported.stop(world.session, world.patient, row.id, clock.now())
    world.write(("辛伐他汀", 20, 1, 28))


def test_the_patient_reports_and_sees_their_medicines(client: FlaskClient, world: World) -> None:
    world.write(VALSARTAN_28)
    headers = bearer(world.session, account=world.patient)
    added = client.post("/api/v1/me/medicines", headers=headers, json={"name": "二甲双胍"})
    assert added.status_code == 201, added.json
    listing = client.get("/api/v1/me/medicines", headers=headers).json["medicines"]
    assert [m["name"] for m in listing] == ["缬沙坦胶囊", "二甲双胍"]
    assert listing[0]["source"].startswith("处方 #")
    stranger = bearer(
        world.session, account=factories.verified_patient("11010519491231002X", "王五")
    )
    mine = listing[1]["reported_medicine_id"]
    # Another family's record is "not found": its id cannot be probed.
    assert client.post(f"/api/v1/me/medicines/{mine}/stop", headers=stranger).status_code == 404
    stopped = client.post(f"/api/v1/me/medicines/{mine}/stop", headers=headers)
    assert [m["name"] for m in stopped.json["medicines"]] == ["缬沙坦胶囊"]


def test_every_interaction_has_a_severity_and_a_source() -> None:
    rows = medication.interactions()
    assert len(rows) >= 40
    for row in rows:
        assert row.severity in medication.SEVERITY_OF, row
        assert row.source.strip(), row
        for selector in (row.a, row.b):
            kind, _, value = selector.partition(":")
            assert kind in {"atc", "ing"}, row
            assert value, row


STABLE = "高血压病情稳定两年，血压控制达标，依从性好"


def test_a_long_term_prescription_waits_for_the_patients_confirmation(
    client: FlaskClient, world: World
) -> None:
    twelve_weeks = world.write(("缬沙坦", 80, 1, 84), stable=STABLE)
    assert "long_term_consent_missing" in {f.code for f in world.assess(twelve_weeks)}
    headers = bearer(world.session, account=world.patient)
    inbox = client.get("/api/v1/me/notifications", headers=headers).json["notifications"]
    assert "prescription.long_term_consent" in {n["kind"] for n in inbox}
    shown = client.get(f"/api/v1/prescriptions/{twelve_weeks.id}", headers=headers).json
    assert shown["long_term"] is True
    assert "超过 4 周" in shown["long_term_notice"]
    other = factories.verified_patient("11010519491231002X", "王五")
    consent = f"/api/v1/prescriptions/{twelve_weeks.id}/long-term-consent"
    assert client.post(consent, headers=bearer(world.session, account=other)).status_code == 404
    confirmed = client.post(consent, headers=headers)
    assert confirmed.status_code == 200, confirmed.json
    assert confirmed.json["long_term_consented_at"] is not None
    world.session.refresh(twelve_weeks)
    assert world.assess(twelve_weeks) == []
    four_weeks = world.write(("氨氯地平", 5, 1, 28))
    assert client.post(f"/api/v1/prescriptions/{four_weeks.id}/long-term-consent",
                       headers=headers).status_code == 409  # fmt: skip


def test_insulin_is_never_on_a_long_term_prescription(world: World) -> None:
    with pytest.raises(rules.LongTermExcluded, match="冷链"):
        world.write(("甘精胰岛素", 10, 1, 56), stable=STABLE)
    world.write(("甘精胰岛素", 10, 1, 28))


def test_the_pharmacist_console_shows_what_else_is_taken_and_asks_for_the_reason(
    client: FlaskClient, world: World
) -> None:
    from tests.helpers import csrf_token, sign_in

    valsartan = world.write(VALSARTAN_28)
    benazepril = world.write(("贝那普利", 10, 1, 28))
    now = clock.now()
    account = world.pharmacist.account
    assert review.claim_next(world.session, account, now) is not None
    review.approve(world.session, account, valsartan.id, now, "既往联用")
    assert review.claim_next(world.session, account, now) is not None
    world.session.commit()
    sign_in(client, account.username)
    page = client.get(f"/pharmacist/prescriptions/{benazepril.id}").get_data(as_text=True)
    assert "患者其他在用药品（1）" in page
    assert "缬沙坦胶囊" in page
    assert "【严重】" in page
    assert 'name="override_reason"' in page
    approve = f"/pharmacist/prescriptions/{benazepril.id}/approve"
    token = csrf_token(client, f"/pharmacist/prescriptions/{benazepril.id}")
    client.post(approve, data={"csrf_token": token, "override_reason": ""})
    world.session.expire_all()
    assert world.session.get(Prescription, benazepril.id).state is PrescriptionState.signed  # type: ignore[union-attr]
    client.post(approve, data={"csrf_token": token, "override_reason": "会诊后同意联用"})
    world.session.expire_all()
    approved = world.session.get(Prescription, benazepril.id)
    assert approved is not None
    assert approved.state is PrescriptionState.approved
    assert approved.review_note == "会诊后同意联用"


def test_a_long_prescription_brings_the_follow_up_before_the_drugs_run_out(
    client: FlaskClient, world: World
) -> None:
    from followup.models import FollowUpPlan
    from followup.services import contracts

    family_doctor = factories.practitioner(kind=PractitionerKind.family_doctor, department="全科")
    team = contracts.create_team(
        world.session, Actor.system(), "赵医生团队", "东城社区卫生服务中心", family_doctor, []
    )
    headers = bearer(world.session, account=world.patient)
    agreement = client.get("/api/v1/family-doctor/agreement", headers=headers).json
    signed = client.post(
        "/api/v1/me/contracts",
        headers=headers,
        json={"team_id": team.id, "agreement_version": agreement["version"],
              "agreement_digest": agreement["digest"]},
    )  # fmt: skip
    assert signed.status_code == 201, signed.json
    plan = world.session.scalars(select(FollowUpPlan)).one()
    plan.next_due_on = clock.today() + dt.timedelta(days=90)  # the usual quarterly visit
    twelve_weeks = world.write(("缬沙坦", 80, 1, 84), stable=STABLE)
    consent = f"/api/v1/prescriptions/{twelve_weeks.id}/long-term-consent"
    assert client.post(consent, headers=headers).status_code == 200
    world.session.expire_all()
    account, now = world.pharmacist.account, clock.now()
    assert review.claim_next(world.session, account, now) is not None
    review.approve(world.session, account, twelve_weeks.id, now)
    world.session.refresh(plan)
    assert plan.next_due_on == clock.today() + dt.timedelta(days=84 - 7)


def test_another_strength_a_combination_or_an_enantiomer_is_still_the_same_drug(
    world: World,
) -> None:
    """Ways around the supply rule through the formulary's many products of one drug."""
    world.write(("苯磺酸氨氯地平片 5mg", 5, 1, 28))
    with pytest.raises(rules.SupplyInForceTooLong, match="合计 35 天"):
        world.write(("氨氯地平 2.5mg", 2.5, 1, 7), doctor=world.other_doctor)
    with pytest.raises(rules.SupplyInForceTooLong, match="合计 56 天"):
        world.write(("缬沙坦氨氯地平片", 1, 1, 28))  # the same amlodipine inside a combination
    with pytest.raises(rules.SupplyInForceTooLong):
        world.write(("苯磺酸氨氯地平片", 10, 1, 1), doctor=world.other_doctor)
    # Levamlodipine is amlodipine's active half: a different name, the same class (C08CA).
    levo = world.write(("苯磺酸左氨氯地平片 2.5mg", 2.5, 1, 28))
    codes = {f.code: f.severity for f in world.assess(levo)}
    assert codes.get("therapeutic_duplication") is Severity.major, codes


def test_the_patient_confirms_a_long_prescription_and_keeps_their_medicines_in_h5(
    client: FlaskClient, world: World
) -> None:
    twelve_weeks = world.write(("缬沙坦", 80, 1, 84), stable=STABLE)
    sign_in(client, world.patient.username)
    page = client.get(f"/h5/prescriptions/{twelve_weeks.id}").get_data(as_text=True)
    assert "长期处方用药须知" in page
    assert "¥" in page  # 金额
    confirmed = client.post(
        f"/h5/prescriptions/{twelve_weeks.id}/long-term-consent",
        data={"lt-csrf_token": csrf_token(client, "/h5/medicines")},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "已确认长期处方用药须知" in confirmed
    world.session.refresh(twelve_weeks)
    assert twelve_weeks.long_term_consented_at is not None
    assert world.assess(twelve_weeks) == []

    assert world.patient.person is not None
    listed = client.post(
        "/h5/medicines",
        data={
            "csrf_token": csrf_token(client, "/h5/medicines"),
            "person_id": world.patient.person.id,
            "name": "芬必得",
        },
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "已登记：芬必得" in listed
    assert "缬沙坦" in listed  # our own prescription in force, beside what they reported
    # The doctor's next prescription is held against what the patient reported.
    nsaid = world.write(("氯沙坦钾片 50mg", 50, 1, 28), doctor=world.other_doctor)
    assert any("芬必得" in f.message for f in world.assess(nsaid))
    row = reported.current(world.session, world.patient.person.id)[0]
    stopped = client.post(
        f"/h5/medicines/{row.id}/stop",
        data={"stop-csrf_token": csrf_token(client, "/h5/medicines")},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "已记录停用：芬必得" in stopped
    assert reported.current(world.session, world.patient.person.id) == []


def test_the_bot_says_a_long_prescription_waits_for_the_patient(world: World) -> None:
    from bot.conversation import _prescriptions_text

    long = world.write(("缬沙坦", 80, 1, 84), stable=STABLE)
    assert "确认长期处方用药须知" in _prescriptions_text(
        world.session, world.patient, clock.today()
    )
    long.long_term_consented_at = clock.now()
    assert "确认长期处方用药须知" not in _prescriptions_text(
        world.session, world.patient, clock.today()
    )


def test_the_patients_prescription_list_does_not_query_once_per_prescription(
    client: FlaskClient, world: World, count_queries: Any
) -> None:
    headers = bearer(world.session, account=world.patient)
    world.write(("缬沙坦", 80, 1, 7))
    with count_queries() as one:
        assert (
            len(client.get("/api/v1/me/prescriptions", headers=headers).json["prescriptions"]) == 1
        )
    for _ in range(3):
        world.write(("缬沙坦", 80, 1, 7))
    with count_queries() as four:
        assert (
            len(client.get("/api/v1/me/prescriptions", headers=headers).json["prescriptions"]) == 4
        )
    assert len(four) == len(one), four


def test_the_review_queue_does_not_query_once_per_prescription(
    client: FlaskClient, world: World, count_queries: Any
) -> None:
    sign_in(client, world.pharmacist.account.username)
    world.write(("缬沙坦", 80, 1, 7))
    with count_queries() as one:
        assert client.get("/pharmacist/").status_code == 200
    for _ in range(3):
        world.write(("缬沙坦", 80, 1, 7), doctor=world.other_doctor)
    with count_queries() as four:
        page = client.get("/pharmacist/").get_data(as_text=True)
    assert "待审核（4）" in page
    assert len(four) == len(one), four
