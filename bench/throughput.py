"""Benchmark: the project against the bare stack, side by side in one run.

    .venv/bin/python -m bench.throughput [--duration 10] [--rounds 3] [--connections 16]

The same machine, the same load generator (wrk, compiled, so the client does not eat the
servers' CPU), the same server shape (gunicorn, `--workers` × `--threads`), PostgreSQL and Redis
on the box, and the project's Celery worker running. Four loads, each round alternating which
server goes first, PostgreSQL checkpointed and the worker's queue drained before each run:

- bare mix: 3 reads of a row by key to 1 insert (bench/bare_app.py: Flask + SQLAlchemy 2);
- bare write: inserts alone;
- project mix: GET /me, GET /me/prescriptions, a drug search, POST /readings (3:1), each
  connection as its own verified patient (the search as a doctor);
- project write: POST /readings alone (a reading, its assessment and its audit event).

Prints each run's requests per second and p50/p99, the project/bare ratio of each round and
the median ratio; then the project's mix at half its peak rate (wrk's per-request delay), whose
p99 is the figure for "under 100 ms at half the peak".
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from sqlalchemy import create_engine, text

from bench import bare_app, harness
from bench.consultations import seed
from bench.shapes import lua_list, run_wrk
from core.db import normalise_url

PROJECT_MIX = """
local patients = %(patients)s
local doctors = %(doctors)s
local counter = 0
local step = 0
local patient, doctor = nil, nil

setup = function(thread)
  thread:set("offset", counter)
  counter = counter + 1
end

init = function(args)
  patient = patients[(offset %% #patients) + 1]
  doctor = doctors[(offset %% #doctors) + 1]
end

%(delay)s

request = function()
  step = step + 1
  local kind = step %% %(kinds)d
  local headers = {["Authorization"] = "Bearer " .. patient}
  if kind == 0 then
    headers["Content-Type"] = "application/json"
    return wrk.format("POST", "/api/v1/readings", headers,
      '{"kind": "blood_pressure", "systolic": 128, "diastolic": 82, "pulse": 70}')
  elseif kind == 1 then
    return wrk.format("GET", "/api/v1/me", headers)
  elseif kind == 2 then
    return wrk.format("GET", "/api/v1/me/prescriptions", headers)
  else
    headers["Authorization"] = "Bearer " .. doctor
    return wrk.format("GET", "/api/v1/drugs?q=%%E6%%B0%%A8%%E6%%B0%%AF", headers)
  end
end
"""

BARE_MIX = """
local step = 0
local rows = %(rows)d

request = function()
  step = step + 1
  if step %% %(kinds)d == 0 then
    return wrk.format("POST", "/rows", {["Content-Type"] = "application/json"},
      '{"owner": ' .. (step %% 64) .. ', "payload": "血压 128/82"}')
  end
  return wrk.format("GET", "/rows/" .. ((step * 7919) %% rows + 1))
end
"""

LOADS = ("mix", "write")


def _script(directory: Path, name: str, body: str) -> Path:
    path = directory / f"{name}.lua"
    path.write_text(body)
    return path


def _settle(database_url: str, broker: str) -> None:
    """PostgreSQL checkpointed and the worker's queue empty: each run starts from the same
    place, not paying for the one before it."""
    queue = redis.Redis.from_url(broker)
    for _ in range(300):
        if not queue.llen("celery"):
            break
        time.sleep(0.1)
    engine = create_engine(normalise_url(database_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CHECKPOINT"))
    engine.dispose()


@contextmanager
def _bare_server(env: dict[str, str], args: argparse.Namespace) -> Iterator[str]:
    port = harness._free_port()
    command = [
        sys.executable, "-m", "gunicorn", "--workers", str(args.workers), "--threads",
        str(args.threads), "--bind", f"127.0.0.1:{port}", "--access-logfile", "-",
        "bench.bare_app:create()",
    ]  # fmt: skip
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=log
        )
        base = f"http://127.0.0.1:{port}"
        try:
            harness.wait_healthy(base, server, log)
            yield base
        finally:
            server.terminate()
            server.wait(timeout=20)


@contextmanager
def _celery_worker(env: dict[str, str]) -> Iterator[None]:
    hospital = str(Path(sys.executable).parent / "hospital")
    worker = subprocess.Popen(
        [hospital, "worker", "--concurrency", "1"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(3)
        if worker.poll() is not None:
            raise SystemExit("the Celery worker did not start (hospital worker)")
        yield
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def _measure(base: str, script: Path, args: argparse.Namespace) -> dict[str, float]:
    run_wrk(base, script, argparse.Namespace(**{**vars(args), "duration": args.warm_up}))
    return run_wrk(base, script, args)


def _line(label: str, figures: dict[str, float]) -> str:
    return (
        f"{label:<16} {figures['rps']:9.1f} {figures['p50_ms']:8.1f} {figures['p99_ms']:8.1f} "
        f"{int(figures['errors']):7d}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warm-up", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--patients", type=int, default=16)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument(
        "--profile",
        type=Path,
        help="also sample the project's workers with py-spy during one more mix run, "
        "writing collapsed stacks and the functions that took the most time to this folder",
    )
    harness.add_server_arguments(parser)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    with harness.scratch_stage(args) as stage:
        patients, doctors, _ = seed(stage.env, args.patients, 2)
        _load_catalogue()
        bare_app.prepare(stage.env["DATABASE_URL"], args.rows)
        scripts = Path(tempfile.mkdtemp())
        lua = {"patients": lua_list(patients), "doctors": lua_list(doctors), "delay": ""}
        project = {
            "mix": _script(scripts, "project-mix", PROJECT_MIX % {**lua, "kinds": 4}),
            "write": _script(scripts, "project-write", PROJECT_MIX % {**lua, "kinds": 1}),
        }
        bare = {
            "mix": _script(scripts, "bare-mix", BARE_MIX % {"rows": args.rows, "kinds": 4}),
            "write": _script(scripts, "bare-write", BARE_MIX % {"rows": args.rows, "kinds": 1}),
        }
        print(
            f"wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration}s; gunicorn "
            f"{args.workers} workers x {args.threads} threads each; PostgreSQL and Redis on this "
            f"box; {os.cpu_count()} CPUs; the project's Celery worker running"
        )
        ratios: dict[str, list[float]] = {load: [] for load in LOADS}
        peaks: list[float] = []
        url, broker = stage.env["DATABASE_URL"], stage.env["REDIS_URL"]
        with (
            _celery_worker(stage.env),
            harness.serving(stage, args) as project_base,
            _bare_server(stage.env, args) as bare_base,
        ):
            harness.warm_up(project_base, patients[0])
            print(f"{'run':<16} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
            for round_no in range(1, args.rounds + 1):
                for load in LOADS:
                    figures = {}
                    order = ("bare", "project") if round_no % 2 else ("project", "bare")
                    for side in order:
                        _settle(url, broker)
                        base, script = (
                            (bare_base, bare[load])
                            if side == "bare"
                            else (project_base, project[load])
                        )
                        figures[side] = _measure(base, script, args)
                        print(_line(f"{round_no} {side} {load}", figures[side]))
                    ratio = figures["project"]["rps"] / figures["bare"]["rps"]
                    ratios[load].append(ratio)
                    if load == "mix":
                        peaks.append(figures["project"]["rps"])
                    print(f"{round_no} {load} ratio project/bare: {ratio:.2f}")
            if args.profile:
                _settle(url, broker)
                _profile(stage.pid, project_base, project["mix"], args)
            half = statistics.median(peaks) / 2
            # Each connection waits between requests so that all of them together ask for
            # about half the peak rate; wrk's delay() is in milliseconds.
            wait_ms = max(1, int(1000 * args.connections / half))
            paced = PROJECT_MIX % {
                **lua,
                "kinds": 4,
                "delay": f"delay = function() return {wait_ms} end",
            }
            _settle(url, broker)
            figures = _measure(project_base, _script(scripts, "project-half", paced), args)
            print(_line(f"half peak ({half:.0f}/s asked)", figures))
        print("median ratio project/bare: " + ", ".join(
            f"{load} {statistics.median(values):.2f} ({', '.join(f'{v:.2f}' for v in values)})"
            for load, values in ratios.items()
        ))  # fmt: skip


def _profile(pid: int, base: str, script: Path, args: argparse.Namespace) -> None:
    """py-spy on gunicorn's workers through one mix run: the stacks, and the 25 functions
    present in the most samples (with what they called: the time spent under them)."""
    args.profile.mkdir(parents=True, exist_ok=True)
    stacks = args.profile / "project-mix.txt"
    spy = str(Path(sys.executable).parent / "py-spy")
    sampler = subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--subprocesses", "--format", "raw", "--rate", "200",
         "--duration", str(args.duration), "--output", str(stacks), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1)
    run_wrk(base, script, args)
    sampler.wait(timeout=args.duration + 60)
    if not stacks.exists():
        print("py-spy wrote nothing (it needs ptrace: run as root or with CAP_SYS_PTRACE)")
        return
    inclusive: dict[str, int] = {}
    total = 0
    for line in stacks.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        samples = int(count)
        total += samples
        for frame in set(frames.split(";")):
            inclusive[frame] = inclusive.get(frame, 0) + samples
    top = sorted(inclusive.items(), key=lambda kv: -kv[1])[:25]
    report = "\n".join(f"{100 * n / total:5.1f}%  {frame}" for frame, n in top)
    (args.profile / "project-mix-top.txt").write_text(report + "\n")
    print(f"profile: {total} samples in {stacks}; the most present functions:\n{report}")


def _load_catalogue() -> None:
    """The shipped formulary, so that the drug search searches what a hospital holds."""
    from core import runtime
    from core.audit import Actor
    from prescriptions.services.drugs import load_catalogue

    with runtime.current().database.transaction() as session:
        load_catalogue(session, Actor.system())


if __name__ == "__main__":
    main()
