"""Benchmark: drug screening in process, and prescribe → sign → claim → approve against
gunicorn and PostgreSQL.

    .venv/bin/python -m bench.prescriptions [--prescriptions 200] [--clients 8] [--workers 2]

Part 1 screens a mix of names (generic, brand, English, pinyin, initials, salts, full-width,
near misses, controlled drugs under other names, unknown names) in process and reports names
per second. Part 2 seeds a scratch database (verified patients with confirmed diagnoses,
face-checked doctors and pharmacists, the catalogue), starts `hospital serve` on 127.0.0.1
and drives whole prescriptions from client threads: the patient starts a visit, the doctor
accepts, writes and signs a prescription, a pharmacist claims the oldest waiting one and
approves it. Reports prescriptions per second, requests per second and p50/p99 per request
kind. Traffic goes to 127.0.0.1 only; the run is bounded.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import requests

from bench import harness
from bench.consultations import RECORD, practitioner_token
from bench.consultations import seed as seed_visits
from bench.face_verify import _percentile

NAMES = [
    "氨氯地平",
    "络活喜",
    "苯磺酸氨氯地平片 5mg",
    "amlodipine besylate tablets",
    "anlvdiping",
    "aldp",
    "ＡＭＬＯＤＩＰＩＮＥ",
    "二甲双胍",
    "格华止",
    "阿托伐他汀钙片",
    "吗丁啉",
    "布洛芬",
    "奥施康定",
    "qiangkaotong",
    "洛芬待因",
    "盐酸曲马多缓释片",
    "复方甘草片",
    "法半夏",
    "生半夏",
    "不存在的药",
]
ITEMS = [
    {"drug": "氨氯地平", "dose_mg": 5, "times_per_day": 1, "days": 28},
    {"drug": "代文", "dose_mg": 80, "times_per_day": 1, "days": 28},
]


def screening(seconds: float) -> None:
    """Names per second in process, as a warm worker screens them: the same names again (as
    doctors and pharmacists type the same few hundred drugs all day; the answers against the
    formulary in force are remembered), and every name new (nothing remembered: each one
    normalised, stemmed and looked up), both against the shipped formulary."""
    import datetime as dt

    from prescriptions import screening as rx_screening

    rx_screening.index()  # built once per process, like a warm worker
    day = dt.date.today()  # noqa: DTZ011 - any day works for throughput
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for name in NAMES:
            rx_screening.screen(name, day)
        count += len(NAMES)
    elapsed = time.perf_counter() - started
    print(f"screening in process, names again: {count / elapsed:,.0f} names per second")
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        rx_screening.install(None, None)  # forget every answer: each name is new
        for name in NAMES:
            rx_screening.screen(name, day)
        count += len(NAMES)
    elapsed = time.perf_counter() - started
    print(f"screening in process, every name new: {count / elapsed:,.0f} names per second")


def seed_pharmacists(count: int) -> list[str]:
    from core import runtime
    from core.audit import Actor
    from identity.models import Institution
    from identity.rules import PractitionerKind
    from prescriptions.services.drugs import load_catalogue

    with runtime.current().database.transaction() as session:
        load_catalogue(session, Actor.system())
        institution = session.query(Institution).filter_by(code="BENCH").one()
        return [
            practitioner_token(session, institution.id, i, PractitionerKind.pharmacist)
            for i in range(count)
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prescriptions", type=int, default=200)
    parser.add_argument("--screen-seconds", type=float, default=5.0)
    harness.add_server_arguments(parser)
    args = parser.parse_args()
    screening(args.screen_seconds)
    with harness.scratch_stage(args) as stage:
        # A patient per prescription: a second 28-day prescription of the same drug while the
        # first is in force is refused (medication safety), as it should be.
        patients, doctors, diagnosis_ids = seed_visits(stage.env, args.prescriptions, args.clients)
        pharmacists = seed_pharmacists(args.clients)
        with harness.serving(stage, args) as base:
            harness.warm_up(base, patients[0])
            # Each worker builds the formulary's screening index once, before the clock.
            harness.warm_up(base, doctors[0], "/api/v1/drugs?q=aldp")
            run(base, args, patients, doctors, pharmacists, diagnosis_ids)


def approve_one(
    timed: Callable[..., dict],
    http: requests.Session,
    patient: str,
    doctor: str,
    pharmacist: str,
    diagnosis_id: int,
) -> int | None:
    """One whole prescription through the API: visit, accept, prescribe, sign, the visit
    completed with its record, claim (the oldest waiting, which may be another client's) and
    approve. The approved id, if any."""
    visit = timed(
        http,
        "start",
        "POST",
        "/api/v1/consultations",
        patient,
        {
            "diagnosis_id": diagnosis_id,
            "complaint": "续开降压药",
            "symptoms": ["none"],
            "vitals": {"systolic": 132, "diastolic": 84},
            "consent": True,
        },
    )
    vid = visit["id"]
    timed(http, "accept", "POST", f"/api/v1/consultations/{vid}/accept", doctor)
    written = timed(
        http,
        "prescribe",
        "POST",
        f"/api/v1/consultations/{vid}/prescriptions",
        doctor,
        {"items": ITEMS},
    )
    timed(http, "sign", "POST", f"/api/v1/prescriptions/{written['id']}/sign", doctor)
    # The doctor answers and ends the visit with its record, so that the patient's next one
    # may open.
    message = {"text": "按原方案继续，处方已开"}
    timed(http, "message", "POST", f"/api/v1/consultations/{vid}/messages", doctor, message)
    timed(http, "complete", "POST", f"/api/v1/consultations/{vid}/complete", doctor, RECORD)
    claimed = timed(http, "claim", "POST", "/api/v1/pharmacist/claim", pharmacist)
    if not claimed.get("prescription"):
        return None
    pid = int(claimed["prescription"]["id"])
    done = timed(http, "approve", "POST", f"/api/v1/prescriptions/{pid}/approve", pharmacist)
    return pid if done.get("state") == "approved" else None


def run(
    base: str,
    args: argparse.Namespace,
    patients: list[str],
    doctors: list[str],
    pharmacists: list[str],
    diagnosis_ids: list[int],
) -> None:
    timings = harness.Timings(base)
    timed = timings.call
    approved: list[int] = []

    def client(i: int) -> None:
        http = requests.Session()
        for n in range(i, len(patients), args.clients):
            try:
                pid = approve_one(
                    timed, http, patients[n], doctors[i], pharmacists[i], diagnosis_ids[n]
                )
            except harness.StepFailed:
                continue  # a refused step: not counted as approved
            if pid is not None:
                with timings.lock:
                    approved.append(pid)

    elapsed = harness.run_clients(args.clients, client)
    print(
        f"{len(approved)} prescriptions approved ({timings.total} requests) by {args.clients} "
        f"clients against gunicorn ({args.workers} workers x {args.threads} threads), "
        f"PostgreSQL; {elapsed:.1f} s"
    )
    print(f"prescriptions written, signed and approved per second: {len(approved) / elapsed:.1f}")
    timings.report(elapsed)
    path = [v for k in ("prescribe", "sign", "claim", "approve") for v in timings.latencies[k]]
    print(
        f"  prescribe→approve requests: p50 {statistics.median(path) * 1000:.1f} ms   "
        f"p99 {_percentile(path, 0.99) * 1000:.1f} ms"
    )
    if len(set(approved)) != len(approved):
        print("ERROR: a prescription was approved twice")


if __name__ == "__main__":
    main()
