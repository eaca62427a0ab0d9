"""Benchmark: a whole 人脸核身 (real-name check against the authoritative photo) vs the bare
face_recognition calls on the same two images.

    .venv/bin/python -m bench.face_verify [--runs 40] [--database-url postgresql://...]

Runs on one core (CPU affinity) in one process. The service path is the whole check: the
patient's start request through the Flask app (the check row, the SDK's signed DetectAuth to
the provider), the liveness step on the provider's page (the fake provider, on 127.0.0.1,
compares the live photo with the reference photo it holds), and the finish request (the
signed GetDetectInfoEnhanced, the outcome, audit, commit). The bare path is the same library
calls the provider's comparison makes (decode, detect without upsampling, encode, distance).
A scratch database is created and dropped unless --database-url is given.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import secrets
import statistics
import time
import uuid
import warnings
from collections.abc import Callable

from alembic import command
from PIL import Image
from sqlalchemy import create_engine, text

from core.db import normalise_url
from migrations import alembic_config

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    import face_recognition


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _report(name: str, seconds: list[float]) -> tuple[float, float]:
    median, p95 = statistics.median(seconds), _percentile(seconds, 0.95)
    print(f"{name:<42} median {median * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms")
    return median, p95


def _images() -> tuple[bytes, bytes]:
    from tests import faces

    selfie = faces.selfie_640x480().transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return faces.id_photo(), faces.encode(selfie)


def bare(id_photo: bytes, selfie: bytes, upsample: int) -> float:
    encodings = []
    for data in (id_photo, selfie):
        image = face_recognition.load_image_file(io.BytesIO(data))
        locations = face_recognition.face_locations(image, number_of_times_to_upsample=upsample)
        encodings.append(face_recognition.face_encodings(image, locations)[0])
    return float(face_recognition.face_distance([encodings[0]], encodings[1])[0])


def _scratch_database(base_url: str) -> tuple[str, Callable[[], None]]:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(base_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{base_url.rpartition('/')[0]}/{name}"

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--server",
        default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    url, drop = args.database_url, None
    if url is None:
        url, drop = _scratch_database(args.server)
    try:
        command.upgrade(alembic_config(url), "head")
        run(url, args.runs)
    finally:
        if drop is not None:
            drop()


def run(url: str, runs: int) -> None:
    import requests

    from core import clock, runtime
    from core.db import commit
    from identity.models import Account, Role
    from identity.services import issue_token, patients
    from identity.verification import fake_server
    from web.app import create_app

    id_photo, selfie = _images()
    provider = fake_server.serve(
        fake_server.FakeFaceId("bench-id", "bench-key", {"110105198503141235": ("张三", id_photo)})
    )
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": secrets.token_hex(32),
            "DATA_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "FACE_ATTEMPTS_PER_DAY": 10_000,
            "FACEID_API_BASE": provider.url,
            "FACEID_SECRET_ID": "bench-id",
            "FACEID_SECRET_KEY": "bench-key",
            "FACEID_RULE_ID": "1",
        }
    )
    session = runtime.current().database.sessionmaker()
    account = Account(username="bench", role=Role.patient, display_name="bench")
    session.add(account)
    session.flush()
    patients.register_real_name(
        session, account, "张三", "110105198503141235", "13800138000", clock.today()
    )
    token = issue_token(session, account, 3600).token
    commit(session)
    session.close()

    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def request() -> None:
        started = client.post("/api/v1/me/identity-verification", headers=headers)
        live = requests.post(
            started.json["url"], files={"selfie": ("s.jpg", selfie)}, allow_redirects=False,
            timeout=30,
        )  # fmt: skip
        if live.status_code != 302:
            raise SystemExit(f"liveness step failed: {live.status_code}")
        token_ = started.json["token"]
        response = client.post(f"/api/v1/me/identity-verification/{token_}/result", headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"verification failed: {response.status_code} {response.json}")

    request()  # load the models once
    bare(id_photo, selfie, 0)
    timings: dict[str, list[float]] = {"service": [], "bare": [], "bare_default": []}
    for _ in range(runs):
        for name, call in (
            ("bare", lambda: bare(id_photo, selfie, 0)),
            ("service", request),
            ("bare_default", lambda: bare(id_photo, selfie, 1)),
        ):
            started = time.perf_counter()
            call()
            timings[name].append(time.perf_counter() - started)

    print(f"face verification, {runs} runs, one core, selfie 640x480, ID photo 320x320")
    service_median, _ = _report("service: 人脸核身 start + liveness + finish", timings["service"])
    bare_median, _ = _report("bare face_recognition, same calls", timings["bare"])
    _report("bare face_recognition, library defaults", timings["bare_default"])
    overhead = (service_median - bare_median) / bare_median * 100
    print(f"service overhead over the same library calls: {overhead:+.1f}%")
    print(f"median under 0.5 s on one core: {'yes' if service_median < 0.5 else 'NO'}")
    provider.stop()


if __name__ == "__main__":
    main()
