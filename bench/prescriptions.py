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
import base64
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import requests
from alembic import command

from bench.consultations import _free_port
from bench.consultations import seed as seed_visits
from bench.face_verify import _percentile, _scratch_database
from migrations import alembic_config

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
    import datetime as dt

    from prescriptions.screening import index, screen

    index()  # built once per process, like a warm worker
    day = dt.date.today()  # noqa: DTZ011 - any day works for throughput
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for name in NAMES:
            screen(name, day)
        count += len(NAMES)
    elapsed = time.perf_counter() - started
    print(f"screening in process: {count / elapsed:,.0f} names per second ({count} names)")


def seed_pharmacists(count: int) -> list[str]:
    import datetime as dt

    from core import clock, runtime
    from core.audit import Actor
    from identity import face as face_engine
    from identity.models import Institution
    from identity.rules import PractitionerKind, Title
    from identity.services import issue_token, practitioners
    from prescriptions.services import load_catalogue

    face = (Path(__file__).resolve().parent.parent / "web/static/demo/face.jpg").read_bytes()
    tokens = []
    with runtime.current().database.transaction() as session:
        load_catalogue(session, Actor.system())
        institution = session.query(Institution).filter_by(code="BENCH").one()
        for i in range(count):
            pharmacist = practitioners.register(
                session,
                Actor.system(),
                practitioners.Registration(
                    username=f"bench-ph-{i}",
                    password="bench-password",
                    name=f"药师{i}",
                    kind=PractitionerKind.pharmacist,
                    licence_number=f"BENCHPH{i:05d}",
                    title=Title.supervising_pharmacist,
                    department="药剂科",
                    institution_id=institution.id,
                    practice_started_on=dt.date(2010, 1, 1),
                ),
                face,
                face_engine.FaceConfig(),
                clock.today(),
            )
            pharmacist.face_checked_until = clock.now() + dt.timedelta(days=1)
            tokens.append(issue_token(session, pharmacist.account, 86400).token)
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prescriptions", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--screen-seconds", type=float, default=5.0)
    parser.add_argument(
        "--server",
        default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()

    screening(args.screen_seconds)

    url, drop = _scratch_database(args.server)
    port = _free_port()
    env = {
        "DATABASE_URL": url,
        "REDIS_URL": args.redis,
        "SECRET_KEY": secrets.token_hex(16),
        "DATA_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }
    server = None
    try:
        command.upgrade(alembic_config(url), "head")
        patients, doctors, diagnosis_ids = seed_visits(env, args.clients, args.clients)
        pharmacists = seed_pharmacists(args.clients)
        hospital = str(Path(sys.executable).parent / "hospital")
        server = subprocess.Popen(
            [
                hospital,
                "serve",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
                "--threads",
                str(args.threads),
            ],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if requests.get(f"{base}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        run(base, args, patients, doctors, pharmacists, diagnosis_ids)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        import redis

        redis.Redis.from_url(args.redis).flushdb()
        drop()


def run(
    base: str,
    args: argparse.Namespace,
    patients: list[str],
    doctors: list[str],
    pharmacists: list[str],
    diagnosis_ids: list[int],
) -> None:
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    approved: list[int] = []
    lock = threading.Lock()
    per_client = args.prescriptions // args.clients

    def timed(
        http: requests.Session, kind: str, method: str, path: str, token: str, json: object = None
    ) -> dict:
        started = time.perf_counter()
        response = http.request(
            method, base + path, json=json, timeout=30, headers={"Authorization": f"Bearer {token}"}
        )
        elapsed = time.perf_counter() - started
        with lock:
            latencies[kind].append(elapsed)
            if response.status_code >= 400:
                errors.append(f"{kind}: {response.status_code} {response.text[:200]}")
        return response.json() if response.content else {}

    def client(i: int) -> None:
        http = requests.Session()
        for _ in range(per_client):
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
            written = timed(
                http,
                "prescribe",
                "POST",
                f"/api/v1/consultations/{vid}/prescriptions",
                doctors[i],
                {"items": ITEMS},
            )
            timed(http, "sign", "POST", f"/api/v1/prescriptions/{written['id']}/sign", doctors[i])
            claimed = timed(http, "claim", "POST", "/api/v1/pharmacist/claim", pharmacists[i])
            if claimed.get("prescription"):
                pid = claimed["prescription"]["id"]
                done = timed(
                    http, "approve", "POST", f"/api/v1/prescriptions/{pid}/approve", pharmacists[i]
                )
                if done.get("state") == "approved":
                    with lock:
                        approved.append(pid)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    total = sum(len(v) for v in latencies.values())
    print(
        f"{len(approved)} prescriptions approved ({total} requests) by {args.clients} clients "
        f"against gunicorn ({args.workers} workers x {args.threads} threads), PostgreSQL; "
        f"{elapsed:.1f} s"
    )
    print(f"prescriptions written, signed and approved per second: {len(approved) / elapsed:.1f}")
    print(f"requests per second: {total / elapsed:.1f}")
    for kind, values in latencies.items():
        print(
            f"  {kind:<9} p50 {statistics.median(values) * 1000:7.1f} ms   "
            f"p99 {_percentile(values, 0.99) * 1000:7.1f} ms   n={len(values)}"
        )
    review_path = [v for k in ("prescribe", "sign", "claim", "approve") for v in latencies[k]]
    print(
        f"  prescribe→approve requests: p50 {statistics.median(review_path) * 1000:.1f} ms   "
        f"p99 {_percentile(review_path, 0.99) * 1000:.1f} ms"
    )
    if len(set(approved)) != len(approved):
        print("ERROR: a prescription was approved twice")
    if errors:
        print(f"{len(errors)} errors, first: {errors[0]}")


if __name__ == "__main__":
    main()
