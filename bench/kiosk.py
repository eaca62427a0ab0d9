"""Benchmark: collecting drugs at pharmacy kiosks against gunicorn and PostgreSQL.

    .venv/bin/python -m bench.kiosk [--prescriptions 80] [--clients 4] [--workers 2]

Seeds a scratch database (patients with enrolled faces and confirmed diagnoses, face-checked
doctors and reviewing pharmacists, a pharmacy with stock and a pharmacist on duty, one kiosk
per client), starts `hospital serve` on 127.0.0.1, approves the prescriptions through the API
(not measured), then every kiosk serves its queue at once: scan, identity (the collector's ID
card, signed by the kiosk's reader, and a
selfie matched against the enrolled face), dispense (confirmed with the pharmacist's
password). Reports dispenses per second and p50/p99 per step and for a whole collection.
Traffic goes to 127.0.0.1 only; the run is bounded.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import time
from pathlib import Path

import requests

from bench import harness
from bench.consultations import seed as seed_visits
from bench.face_verify import _percentile
from bench.prescriptions import approve_one, seed_pharmacists

DEMO = Path(__file__).resolve().parent.parent / "web/static/demo"
STORE_PHARMACIST = ("bench-store-pharmacist", "bench-password")


def seed_pharmacy(kiosks: int) -> tuple[list[tuple[str, str]], dict[int, tuple[str, str]]]:
    """Kiosk tokens with their reader keys, and each patient's name and ID number by index."""
    import datetime as dt

    from sqlalchemy import select

    from core import clock, runtime
    from core.audit import Actor
    from identity import face
    from identity.models import Account, Institution, Role
    from identity.rules import PractitionerKind, Title
    from identity.services import issue_token, practitioners
    from pharmacy.services import kiosk, pharmacies, stock
    from prescriptions.models import Drug

    encoding = face.serialise(
        face.encode_photo((DEMO / "face.jpg").read_bytes(), face.FaceConfig())
    )
    with runtime.current().database.transaction() as session:
        digits = {}
        patients = session.scalars(
            select(Account).where(Account.role == Role.patient).order_by(Account.id)
        )
        for i, account in enumerate(patients):
            assert account.person is not None
            account.person.face_encoding = encoding
            digits[i] = (account.person.name, account.person.id_number)
        every_day = {str(d): [["00:00", "24:00"]] for d in range(1, 8)}
        pharmacy = pharmacies.create_pharmacy(
            session,
            Actor.system(),
            pharmacies.NewPharmacy("BENCH-PH", "基准药房", "基准连锁", "基准路 1 号", 39.9, 116.4,
                                 every_day, "BENCH-LIC"),
        )  # fmt: skip
        today = clock.today()
        for name in ("苯磺酸氨氯地平片", "缬沙坦胶囊"):
            drug = session.scalar(select(Drug).where(Drug.generic_name == name))
            assert drug is not None
            for batch, days in (("B1", 200), ("B2", 400)):
                stock.receive(session, Actor.system(), pharmacy.id, drug.id, batch,
                              today + dt.timedelta(days=days), 100_000, today)  # fmt: skip
        institution = session.scalar(select(Institution).where(Institution.code == "BENCH"))
        assert institution is not None
        store = practitioners.register(
            session,
            Actor.system(),
            practitioners.Registration(
                username=STORE_PHARMACIST[0], password=STORE_PHARMACIST[1], name="门店药师",
                kind=PractitionerKind.pharmacist, licence_number="BENCHSTORE1",
                title=Title.pharmacist, department="门店", institution_id=institution.id,
                practice_started_on=dt.date(2010, 1, 1),
            ),
            (DEMO / "face.jpg").read_bytes(),
            face.DlibMatcher(),
            today,
        )  # fmt: skip
        pharmacies.add_pharmacist(session, Actor.system(), pharmacy.id, store.id, True)
        tokens = []
        for i in range(kiosks):
            registered = kiosk.register(session, Actor.system(), pharmacy.id, f"{i} 号终端")
            token = issue_token(session, registered.kiosk.account, 86400).token
            tokens.append((token, registered.reader_key))
    return tokens, digits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prescriptions", type=int, default=80)
    harness.add_server_arguments(parser)
    parser.set_defaults(clients=4)
    args = parser.parse_args()
    with harness.scratch_stage(args) as stage:
        patients, doctors, diagnosis_ids = seed_visits(stage.env, args.clients, args.clients)
        reviewers = seed_pharmacists(args.clients)
        kiosks, digits = seed_pharmacy(args.clients)
        with harness.serving(stage, args) as base:
            queues = approve_all(base, args, patients, doctors, reviewers, diagnosis_ids)
            harness.warm_up(base, patients[0])
            run(base, args, kiosks, queues, digits)


def approve_all(
    base: str,
    args: argparse.Namespace,
    patients: list[str],
    doctors: list[str],
    reviewers: list[str],
    diagnosis_ids: list[int],
) -> list[list[tuple[int, str]]]:
    """Per kiosk, the (patient index, code) pairs it will serve."""
    setup = harness.Timings(base)
    queues: list[list[tuple[int, str]]] = [[] for _ in range(args.clients)]
    http = requests.Session()
    for n in range(args.prescriptions):
        i = n % args.clients
        pid = approve_one(setup.call, http, patients[i], doctors[i], reviewers[i], diagnosis_ids[i])
        assert pid is not None, setup.errors[:1]
        # Claims take the oldest waiting one: ask whose it is.
        for owner, token in enumerate(patients):
            path = f"/api/v1/prescriptions/{pid}"
            shown = setup.call(http, "show", "GET", path, token, required=False)
            if shown.get("redemption_code"):
                queues[n % args.clients].append((owner, shown["redemption_code"]))
                break
    setup.errors.clear()
    return queues


def run(
    base: str,
    args: argparse.Namespace,
    kiosks: list[tuple[str, str]],
    queues: list[list[tuple[int, str]]],
    digits: dict[int, tuple[str, str]],
) -> None:
    import io
    import json

    from PIL import Image

    from pharmacy import id_card

    chip = io.BytesIO()
    Image.open(DEMO / "face.jpg").convert("RGB").resize((102, 126)).save(chip, "JPEG")
    timings = harness.Timings(base)
    selfie = (DEMO / "selfie.jpg").read_bytes()
    collections: list[float] = []
    dispensed: list[int] = []

    def client(i: int) -> None:
        http = requests.Session()
        token, reader_key = kiosks[i]
        auth = {"Authorization": f"Bearer {token}"}
        for owner, code in queues[i]:
            try:
                started = time.perf_counter()
                timings.call(http, "scan", "POST", "/api/v1/kiosk/scan", token, {"token": code})
                name, id_number = digits[owner]
                card = id_card.sign(
                    name, id_number, chip.getvalue(), f"bench-{i}", int(time.time()), reader_key
                )
                t0 = time.perf_counter()
                response = http.post(
                    f"{base}/api/v1/kiosk/identity",
                    data={"token": code, "id_card": json.dumps(card)},
                    files={"selfie": ("selfie.jpg", selfie, "image/jpeg")},
                    headers=auth,
                    timeout=30,
                )
                with timings.lock:
                    timings.latencies["identity"].append(time.perf_counter() - t0)
                    if response.status_code >= 400:
                        timings.errors.append(
                            f"identity: {response.status_code} {response.text[:200]}"
                        )
                        continue
                done = timings.call(
                    http,
                    "dispense",
                    "POST",
                    "/api/v1/kiosk/dispense",
                    token,
                    {
                        "token": code,
                        "identity_check_id": response.json()["identity_check_id"],
                        "pharmacist_username": STORE_PHARMACIST[0],
                        "pharmacist_password": STORE_PHARMACIST[1],
                        "trace_codes": [f"8{secrets.randbelow(10**19):019d}" for _ in range(5)],
                    },
                )
                with timings.lock:
                    if done.get("prescription_id"):
                        dispensed.append(done["prescription_id"])
                        collections.append(time.perf_counter() - started)
            except harness.StepFailed:
                continue  # a refused step: this collection did not happen

    elapsed = harness.run_clients(args.clients, client)
    print(
        f"{len(dispensed)} collections at {args.clients} kiosks at once against gunicorn "
        f"({args.workers} workers x {args.threads} threads), PostgreSQL; {elapsed:.1f} s"
    )
    print(f"dispenses per second: {len(dispensed) / elapsed:.2f}")
    timings.report(elapsed)
    if collections:
        print(
            f"  scan→dispense (whole collection): p50 {statistics.median(collections) * 1000:.1f} "
            f"ms   p99 {_percentile(collections, 0.99) * 1000:.1f} ms"
        )
    if len(set(dispensed)) != len(dispensed):
        print("ERROR: a prescription was dispensed twice")


if __name__ == "__main__":
    main()
