"""Benchmark: creating and completing return visits against gunicorn, PostgreSQL and Redis.

    .venv/bin/python -m bench.consultations [--visits 200] [--clients 8] [--workers 2]

Seeds a scratch database (verified patients with confirmed diagnoses, eligible doctors whose
face check is fresh), starts `hospital serve` (gunicorn) on 127.0.0.1 with Redis as broker, and
drives whole visits from client threads: the patient starts the visit, a doctor accepts,
replies and completes it with a signed record. Reports visits per second, requests per second
and p50/p99 latency per request kind. Traffic goes to 127.0.0.1 only; the run is bounded.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import requests

from bench import harness

RECORD = {
    "chief_complaint": "高血压复诊，续开降压药",
    "findings": "自测血压 132/84 mmHg",
    "diagnosis_code": "I10.x00x002",
    "plan": "继续氨氯地平 5mg 每日一次",
}


def practitioner_token(session: Any, institution_id: int, i: int, kind: Any) -> str:
    """Register practitioner `i` of `kind` (enrolled with the demo face, face check fresh for a
    day) and return a bearer token for them."""
    import datetime as dt

    from core import clock
    from core.audit import Actor
    from identity import face as face_engine
    from identity.rules import PractitionerKind, Title
    from identity.services import issue_token, practitioners

    doctor = kind is PractitionerKind.doctor
    face = (Path(__file__).resolve().parent.parent / "web/static/demo/face.jpg").read_bytes()
    practitioner = practitioners.register(
        session,
        Actor.system(),
        practitioners.Registration(
            username=f"bench-{kind.value}-{i}",
            password="bench-password",
            name=f"{'医生' if doctor else '药师'}{i}",
            kind=kind,
            licence_number=f"BENCH{kind.value[:2].upper()}{i:06d}",
            title=Title.attending_physician if doctor else Title.supervising_pharmacist,
            department="心血管内科" if doctor else "药剂科",
            institution_id=institution_id,
            practice_started_on=dt.date(2010, 1, 1),
        ),
        face,
        face_engine.DlibMatcher(),
        clock.today(),
    )
    practitioner.face_checked_until = clock.now() + dt.timedelta(days=1)
    return issue_token(session, practitioner.account, 86400).token


def seed(
    env: dict[str, str], patients: int, doctors: int
) -> tuple[list[str], list[str], list[int]]:
    """Return patient tokens, doctor tokens and each patient's diagnosis id."""
    os.environ.update(env)
    import datetime as dt

    from core import clock, runtime
    from followup.services import diagnoses
    from identity.models import Account, Role
    from identity.rules import PractitionerKind
    from identity.services import create_institution, issue_token
    from identity.services import patients as patient_services
    from web.app import create_app

    create_app()
    with runtime.current().database.transaction() as session:
        institution = create_institution(session, "BENCH", "基准测试医院")
        doctor_tokens = [
            practitioner_token(session, institution.id, i, PractitionerKind.doctor)
            for i in range(doctors)
        ]
        patient_tokens, diagnosis_ids = [], []
        for i in range(patients):
            account = Account(username=f"bench-pt-{i}", role=Role.patient, display_name="患者")
            session.add(account)
            session.flush()
            body = f"{110105}{1960 + i % 40}0{1 + i % 9}1{i % 9}{i % 1000:03d}"
            from identity.rules import id_check_char

            patient_services.register_real_name(
                session, account, "测试", body + id_check_char(body), "13800138000", clock.today()
            )
            account.face_verified_at = clock.now()
            assert account.person is not None
            diagnosis = diagnoses.import_confirmed(
                session,
                account.person,
                "I10.x00x002",
                clock.today() - dt.timedelta(days=30),
                "基准测试医院",
                "周医生",
                f"BENCH-{i}",
                clock.today(),
            )
            patient_tokens.append(issue_token(session, account, 86400).token)
            diagnosis_ids.append(diagnosis.id)
    return patient_tokens, doctor_tokens, diagnosis_ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visits", type=int, default=200)
    harness.add_server_arguments(parser)
    args = parser.parse_args()
    with harness.scratch_stage(args) as stage:
        patient_tokens, doctor_tokens, diagnosis_ids = seed(stage.env, args.clients, args.clients)
        with harness.serving(stage, args) as base:
            harness.warm_up(base, patient_tokens[0])
            run(base, args, patient_tokens, doctor_tokens, diagnosis_ids)


def run(
    base: str,
    args: argparse.Namespace,
    patients: list[str],
    doctors: list[str],
    diagnosis_ids: list[int],
) -> None:
    timings = harness.Timings(base)
    timed = timings.call
    per_client = args.visits // args.clients

    def client(i: int) -> None:
        http = requests.Session()
        for _ in range(per_client):
            try:
                visit = timed(
                    http,
                    "start",
                    "POST",
                    "/api/v1/consultations",
                    patients[i],
                    {
                        "diagnosis_id": diagnosis_ids[i],
                        "complaint": "续开降压药",
                        "symptoms": ["none"],
                        "vitals": {"systolic": 132, "diastolic": 84},
                        "consent": True,
                    },
                )
                vid = visit["id"]
                timed(http, "accept", "POST", f"/api/v1/consultations/{vid}/accept", doctors[i])
                timed(
                    http,
                    "message",
                    "POST",
                    f"/api/v1/consultations/{vid}/messages",
                    doctors[i],
                    {"text": "按原方案继续"},
                )
                timed(
                    http,
                    "complete",
                    "POST",
                    f"/api/v1/consultations/{vid}/complete",
                    doctors[i],
                    RECORD,
                )
            except harness.StepFailed:
                continue  # a refused step: this visit is not counted

    elapsed = harness.run_clients(args.clients, client)
    visits = timings.succeeded["complete"]  # visits that got all the way through
    print(
        f"{visits} visits completed of {per_client * args.clients} ({timings.total} requests) "
        f"by {args.clients} clients against gunicorn "
        f"({args.workers} workers x {args.threads} threads), PostgreSQL, Redis; {elapsed:.1f} s"
    )
    print(f"visits created and completed per second: {visits / elapsed:.1f}")
    timings.report(elapsed)


if __name__ == "__main__":
    main()
