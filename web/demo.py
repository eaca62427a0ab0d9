"""Demo data (`hospital seed-demo`): an institution, one account per role (password `demo`),
verified practitioners enrolled with the demo face photo, and a verified patient with a child.

Later capabilities extend this so that a newcomer can walk every journey after `make run`.
Running it twice changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock, runtime
from core.audit import Actor
from core.settings import DEMO_OA
from followup import triage
from followup.services import consultations, diagnoses, visit_messages, visit_records
from identity import face
from identity import services as identity
from identity.models import Account, Institution, ProofType, Relation, Role
from identity.rules import PractitionerKind, Title
from identity.services import allergies, dependents, followers, patients, practitioners
from prescriptions import rules as rx_rules
from prescriptions.models import Drug
from prescriptions.services import prescribing, reported
from prescriptions.services.drugs import load_catalogue

DEMO_PASSWORD = "demo"  # noqa: S105 - published demo credential, refused outside demo mode
DEMO_INSTITUTION_CODE = "DEMO-HOSP"
DEMO_FACE = Path(__file__).parent / "static" / "demo" / "face.jpg"
DEMO_SELFIE = Path(__file__).parent / "static" / "demo" / "selfie.jpg"
DEMO_EVIDENCE = Path(__file__).parent / "static" / "demo" / "diagnosis.png"

# Synthetic ID numbers from FACTS.md §5: valid by the algorithm, for tests and demos only.
DEMO_PATIENT = ("张三", "110105198503141235", "13800138000")
DEMO_CHILD = ("张小宝", "320102202301150116")
# Not yet verified: a newcomer registers 李四's name and number on the phone pages and passes
# 人脸核身 with web/static/demo/selfie.jpg (the demo source holds face.jpg as 李四's ID photo).
DEMO_NEWCOMER = ("李四", "110105197001011233")


def faceid_references() -> dict[str, tuple[str, bytes]]:
    """The demo's public-security source, held by the fake 人脸核身: ID photos by ID number."""
    photo = DEMO_FACE.read_bytes()
    return {DEMO_PATIENT[1]: (DEMO_PATIENT[0], photo), DEMO_NEWCOMER[1]: (DEMO_NEWCOMER[0], photo)}


PLAIN_ACCOUNTS = (
    ("patient", Role.patient, "演示患者"),
    ("newpatient", Role.patient, "新患者"),
    ("kiosk", Role.kiosk, "演示药房 1 号终端"),
    ("admin", Role.admin, "系统管理员"),
)
PRACTITIONERS = (
    (
        "doctor",
        "王医生",
        PractitionerKind.doctor,
        "DEMO0000001",
        Title.attending_physician,
        "心血管内科",
        dt.date(2015, 7, 1),
    ),
    (
        "pharmacist",
        "李药师",
        PractitionerKind.pharmacist,
        "DEMO0000002",
        Title.supervising_pharmacist,
        "药剂科",
        dt.date(2012, 9, 1),
    ),
    (
        "storepharmacist",
        "孙药师",
        PractitionerKind.pharmacist,
        "DEMO0000004",
        Title.pharmacist,
        "门店药房",
        dt.date(2014, 3, 1),
    ),
    (
        "familydoctor",
        "赵家庭医生",
        PractitionerKind.family_doctor,
        "DEMO0000003",
        Title.attending_physician,
        "全科",
        dt.date(2016, 8, 1),
    ),
)
DEMO_ACCOUNTS = (
    *PLAIN_ACCOUNTS,
    *((username, {PractitionerKind.doctor: Role.doctor, PractitionerKind.pharmacist:
                  Role.pharmacist, PractitionerKind.family_doctor: Role.family_doctor}[kind], name)
      for username, name, kind, *_ in PRACTITIONERS),
)  # fmt: skip


def _exists(session: Session, username: str) -> bool:
    return session.scalar(select(Account.id).where(Account.username == username)) is not None


def seed(session: Session) -> list[str]:
    """Create what is missing; return what was created, for the command to print."""
    created: list[str] = []
    institution = session.scalar(
        select(Institution).where(Institution.code == DEMO_INSTITUTION_CODE)
    )
    if institution is None:
        institution = identity.create_institution(session, DEMO_INSTITUTION_CODE, "演示互联网医院")
        created.append(f"institution {institution.name}")
    catalogue = load_catalogue(session, Actor.system())
    if catalogue.added:
        created.append(f"drug catalogue ({catalogue.added} drugs)")
    for username, role, name in PLAIN_ACCOUNTS:
        if not _exists(session, username):
            identity.create_account(
                session,
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                display_name=name,
                institution=institution if role is not Role.patient else None,
            )
            created.append(f"account {username} ({role.value})")
    config = face.DlibMatcher()
    for username, name, kind, licence, title, department, started in PRACTITIONERS:
        if not _exists(session, username):
            registration = practitioners.Registration(
                username=username,
                password=DEMO_PASSWORD,
                name=name,
                kind=kind,
                licence_number=licence,
                title=title,
                department=department,
                institution_id=institution.id,
                practice_started_on=started,
            )
            practitioners.register(
                session,
                Actor.system(),
                registration,
                DEMO_FACE.read_bytes(),
                config,
                clock.today(),
            )
            created.append(f"practitioner {username} ({title.value}, {department})")
    patient = identity.account_by_username(session, "patient")
    if patient is not None and patient.person is None:
        name, id_number, phone = DEMO_PATIENT
        patients.register_real_name(session, patient, name, id_number, phone, clock.today())
        # Seeded as verified; a real account is verified only through 人脸核身 (the walk-through
        # does it for `newpatient`).
        patient.face_verified_at = clock.now()
        child_name, child_id = DEMO_CHILD
        # The guardian's link goes the way every one does: asked, the 户口本 page sent, reviewed
        # by staff (the demo admin).
        link = dependents.request_link(
            session, patient, child_name, child_id, Relation.child, clock.now(), clock.today()
        )
        dependents.attach_proof(session, patient, link.id, ProofType.hukou,
                                DEMO_EVIDENCE.read_bytes(), clock.now())  # fmt: skip
        admin = identity.account_by_username(session, "admin")
        if admin is not None:
            dependents.review(session, admin, link.id, True, "户口本核对一致", clock.now())
        created.append("patient 张三 (real name and face verified) with child 张小宝 (under 6)")
        created.extend(_seed_visits(session, patient))
        created.extend(_seed_prescription(session, patient))
        created.extend(_seed_waiting_visit(session, patient))
    created.extend(_seed_pharmacy(session))
    created.extend(_seed_family_doctor(session))
    return created


def _seed_visits(session: Session, patient: Account) -> list[str]:
    """张三's hypertension, confirmed by the hospital platform, and a diabetes diagnosis he
    uploaded himself (waiting for a doctor)."""
    person = patient.person
    if person is None:
        return []
    today = clock.today()
    diagnoses.import_confirmed(
        session,
        person,
        "I10.x00x002",
        today - dt.timedelta(days=90),
        "演示市第一人民医院",
        "周主任",
        "DEMO-DX-1",
        today,
    )
    diagnoses.upload(
        session,
        patient,
        person,
        "E11.900",
        today - dt.timedelta(days=200),
        "演示市中医院",
        "吴医生",
        DEMO_EVIDENCE.read_bytes(),
        today,
    )
    return ["diagnoses: 原发性高血压 (confirmed), 2型糖尿病 (uploaded, pending review)"]


def _seed_waiting_visit(session: Session, patient: Account) -> list[str]:
    """A return visit waiting in the cardiology queue (one open visit per diagnosis, so it
    comes after the visit in which the demo prescription was written, now completed)."""
    person = patient.person
    if person is None:
        return []
    hypertension = next(
        d for d in diagnoses.for_person(session, person.id) if d.icd10_code.startswith("I10")
    )
    consultations.start(
        session,
        patient,
        consultations.VisitRequest(
            person_id=None,
            diagnosis_id=hypertension.id,
            complaint="血压控制尚可，氨氯地平快吃完了，想续开。",
            symptoms=["none"],
            vitals=triage.Vitals(systolic=138, diastolic=86),
            consent=True,
        ),
        runtime.current().settings,
        clock.now(),
    )
    return ["a return visit waiting in the 心血管内科 queue"]


def _seed_prescription(session: Session, patient: Account) -> list[str]:
    """张三 declared a penicillin allergy; in a second visit 王医生 (face-checked with the demo
    selfie, through the real check) wrote and signed a prescription that waits for 李药师."""
    person = patient.person
    doctor_account = identity.account_by_username(session, "doctor")
    if person is None or doctor_account is None:
        return []
    now = clock.now()
    settings = runtime.current().settings
    allergies.record(session, patient, None, ["青霉素"], now)
    # He also takes ibuprofen bought at a pharmacy for his knee: the pharmacist's review shows
    # it beside the prescription (an NSAID with an ARB: a note to watch blood pressure).
    reported.report(session, patient, None, "布洛芬缓释胶囊", now)
    hypertension = next(
        d for d in diagnoses.for_person(session, person.id) if d.icd10_code.startswith("I10")
    )
    visit = consultations.start(
        session,
        patient,
        consultations.VisitRequest(
            person_id=None,
            diagnosis_id=hypertension.id,
            complaint="血压 130/80 左右，想续开氨氯地平和缬沙坦。",
            symptoms=["none"],
            vitals=triage.Vitals(systolic=130, diastolic=80),
            consent=True,
        ),
        settings,
        now,
    )
    doctor = practitioners.practitioner_for(session, doctor_account)
    attempt = practitioners.face_check(
        session,
        doctor,
        DEMO_SELFIE.read_bytes(),
        face.DlibMatcher(),
        settings.face_check_ttl_seconds,
        settings.face_attempts_per_day * 4,
        now,
    )
    if not attempt.row.matched:
        return []
    consultations.accept(session, doctor_account, visit.id, now)
    draft = prescribing.Draft(
        items=[
            rx_rules.ItemDraft("氨氯地平", 5, None, 28, frequency="qd"),
            rx_rules.ItemDraft("代文", 80, None, 28, frequency="每日一次"),
        ],
        routes=["口服", "口服"],
    )
    prescription = prescribing.prescribe(session, doctor_account, visit.id, draft, now)
    prescribing.sign(session, doctor_account, prescription.id, now)
    visit_messages.post_message(session, doctor_account, visit.id, now,
                               text="您好，血压控制良好，按原方案续开 28 天。")  # fmt: skip
    visit_records.complete(
        session, doctor_account, visit.id,
        {"chief_complaint": "高血压复诊，续开降压药", "history": "规律服药，无不适",
         "findings": "自测血压 130/80 mmHg", "diagnosis_code": "I10.x00x002",
         "diagnosis_name": "原发性高血压", "plan": "氨氯地平 5 mg、缬沙坦 80 mg 每日一次，28 天"},
        now,
    )  # fmt: skip
    # The demo doctor starts signed out of clinical actions, like everyone: do the face check.
    doctor.face_checked_until = None
    session.flush()
    follower = followers.follower(session, str(DEMO_OA["wechat_oa_app_id"]), "o-demo-zhangsan", now)
    follower.account_id = patient.id
    return [
        "allergy: 张三 is allergic to 青霉素; he reports taking 布洛芬 (over the counter)",
        "张三 follows the Official Account (openid o-demo-zhangsan)",
        f"prescription #{prescription.id} (氨氯地平, 缬沙坦) signed by 王医生, waiting for review",
    ]


DEMO_PHARMACY_CODE = "DEMO-PH-1"
DEMO_STOCK = (
    # generic name, batch, days to expiry, units
    ("苯磺酸氨氯地平片", "AM2401", 60, 50),  # near expiry: dispensed first, flagged
    ("苯磺酸氨氯地平片", "AM2502", 500, 300),
    ("缬沙坦胶囊", "VA2503", 420, 200),
    ("二甲双胍片", "MF2504", 380, 600),
    ("阿托伐他汀钙片", "AT2505", 400, 40),  # low stock
    ("华法林钠片", "WF2506", 300, 100),
)


def _seed_pharmacy(session: Session) -> list[str]:
    """A chain pharmacy near the hospital, open every day, with stock (one lot near expiry,
    one drug low), 孙药师 on duty, and the demo `kiosk` account bound to it as its terminal."""
    from pharmacy.models import Pharmacy
    from pharmacy.services import kiosk, pharmacies, stock

    if session.scalar(select(Pharmacy.id).where(Pharmacy.code == DEMO_PHARMACY_CODE)):
        return []
    actor = Actor.system()
    every_day = {str(day): [["08:00", "22:00"]] for day in range(1, 8)}
    pharmacy = pharmacies.create_pharmacy(
        session,
        actor,
        pharmacies.NewPharmacy(
            code=DEMO_PHARMACY_CODE,
            name="仁心大药房（王府井店）",
            chain="仁心大药房",
            address="北京市东城区王府井大街 100 号",
            latitude=39.9146,
            longitude=116.4109,
            opening_hours=every_day,
            licence_number="京DA0100001",
        ),
    )
    today = clock.today()
    for name, batch, days, units in DEMO_STOCK:
        drug = session.scalar(select(Drug).where(Drug.generic_name == name))
        if drug is not None:
            expiry = today + dt.timedelta(days=days)
            stock.receive(session, actor, pharmacy.id, drug.id, batch, expiry, units, today)
    store_pharmacist = identity.account_by_username(session, "storepharmacist")
    if store_pharmacist is not None:
        practitioner = practitioners.practitioner_for(session, store_pharmacist)
        pharmacies.add_pharmacist(session, actor, pharmacy.id, practitioner.id, True)
    terminal = identity.account_by_username(session, "kiosk")
    if terminal is not None:
        kiosk.bind(session, actor, pharmacy.id, terminal, "王府井店 1 号终端")
    return [f"pharmacy {pharmacy.name} with stock, 孙药师 on duty and the kiosk"]


DEMO_READINGS = ((152, 96), (148, 94), (141, 90), (136, 86), (131, 83), (128, 80))


def _seed_family_doctor(session: Session) -> list[str]:
    """赵家庭医生 leads a team; 张三 signed with it (agreement accepted) and has reported blood
    pressure at home over the last weeks, coming down into the target band."""
    from followup.catalogue import family_doctor_agreement
    from followup.models import FamilyDoctorTeam, Reading, ReadingKind
    from followup.services import contracts

    if session.scalar(select(FamilyDoctorTeam.id).limit(1)) is not None:
        return []
    doctor_account = identity.account_by_username(session, "familydoctor")
    patient = identity.account_by_username(session, "patient")
    if doctor_account is None or patient is None or patient.person is None:
        return []
    lead = practitioners.practitioner_for(session, doctor_account)
    team = contracts.create_team(
        session, Actor.system(), "赵医生家庭医生团队", "东城区东华门社区卫生服务中心", lead, []
    )
    agreement = family_doctor_agreement()
    now = clock.now()
    contracts.sign(
        session, patient, None, team.id, "chronic", agreement.version, agreement.digest, now
    )
    for i, (systolic, diastolic) in enumerate(DEMO_READINGS):
        session.add(
            Reading(
                person_id=patient.person.id,
                account_id=patient.id,
                kind=ReadingKind.blood_pressure,
                systolic=systolic,
                diastolic=diastolic,
                band="above" if systolic >= 140 or diastolic >= 90 else "in_band",
                source="wechat",
                measured_at=now - dt.timedelta(days=(len(DEMO_READINGS) - i) * 5),
            )
        )
    session.flush()
    return [f"family-doctor team {team.name}; 张三 signed, with home blood-pressure readings"]
