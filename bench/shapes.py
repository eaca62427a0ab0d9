"""Benchmark: the same patient workload against each supported serving shape.

    .venv/bin/python -m bench.shapes [--duration 10] [--connections 16] [--shapes "sync 2x1,..."]

Seeds a scratch PostgreSQL database with verified patients, then for each shape starts
`hospital serve` (gunicorn) on 127.0.0.1 and drives it with wrk (Debian's `wrk`, a compiled
load generator, so the client does not eat the server's CPU): a 3:1 read/write mix of the
patient API — GET /me, GET /me/prescriptions, GET /me/readings, POST /readings — each
connection as its own patient. Prints requests per second, p50/p99 and any error responses per
shape. Traffic goes to 127.0.0.1 only; each run lasts `--duration` seconds.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from bench import harness
from bench.consultations import seed
from core.db import normalise_url

SHAPES = {
    "sync 2x1": (2, 1),
    "sync 4x1": (4, 1),
    "gthread 1x4": (1, 4),
    "gthread 2x2": (2, 2),
    "gthread 2x4": (2, 4),
}

LUA = """
local tokens = %(tokens)s
local counter = 0
local step = 0
local token = nil

setup = function(thread)
  thread:set("offset", counter)
  counter = counter + 1
end

init = function(args)
  token = tokens[(offset %% #tokens) + 1]
end

request = function()
  step = step + 1
  local headers = {["Authorization"] = "Bearer " .. token}
  local kind = step %% 4
  if kind == 0 then
    headers["Content-Type"] = "application/json"
    return wrk.format("POST", "/api/v1/readings", headers,
      '{"kind": "blood_pressure", "systolic": 128, "diastolic": 82, "pulse": 70}')
  elseif kind == 1 then
    return wrk.format("GET", "/api/v1/me", headers)
  elseif kind == 2 then
    return wrk.format("GET", "/api/v1/me/prescriptions", headers)
  else
    return wrk.format("GET", "/api/v1/me/readings", headers)
  end
end
"""


def _ms(value: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s|m)", value)
    if not match:
        return float("nan")
    number, unit = float(match.group(1)), match.group(2)
    return number * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def lua_list(values: list[str]) -> str:
    """A Lua table of strings, for wrk's scripts."""
    return "{" + ",".join(json.dumps(v) for v in values) + "}"


def run_wrk(base: str, script: Path, args: argparse.Namespace) -> dict[str, float]:
    done = subprocess.run(
        [
            "wrk", "--latency", "-t", str(args.wrk_threads), "-c", str(args.connections),
            "-d", f"{args.duration}s", "-s", str(script), base,
        ],
        capture_output=True, text=True, timeout=args.duration + 60, check=True,
    )  # fmt: skip
    out = done.stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rps": float(rate.group(1)) if rate else float("nan"),
        "p50_ms": _ms(p50.group(1)) if p50 else float("nan"),
        "p99_ms": _ms(p99.group(1)) if p99 else float("nan"),
        "errors": float(errors.group(1)) if errors else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--patients", type=int, default=16)
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--rounds", type=int, default=2, help="each round reverses the order")
    harness.add_server_arguments(parser)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    with harness.scratch_stage(args) as stage:
        tokens, _, _ = seed(stage.env, args.patients, 1)
        script = Path(tempfile.mkdtemp()) / "patients.lua"
        script.write_text(LUA % {"tokens": lua_list(tokens)})
        print(
            f"wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration}s, "
            f"{args.patients} patients, GET /me, /me/prescriptions, /me/readings, POST /readings"
        )
        print(f"{'round':<6}{'shape':<14} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
        names = [s.strip() for s in args.shapes.split(",") if s.strip()]
        for round_no in range(args.rounds):
            for name in names if round_no % 2 == 0 else names[::-1]:
                figures = measure(stage, script, args, name)
                print(
                    f"{round_no + 1:<6}{name:<14} {figures['rps']:8.1f} {figures['p50_ms']:8.1f} "
                    f"{figures['p99_ms']:8.1f} {int(figures['errors']):7d}"
                )


def measure(
    stage: harness.Stage, script: Path, args: argparse.Namespace, name: str
) -> dict[str, float]:
    """One shape from the same starting data: the readings the last run wrote are removed, so
    that no shape lists longer histories than another."""
    engine = create_engine(normalise_url(stage.env["DATABASE_URL"]))
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM readings"))
    engine.dispose()
    args.workers, args.threads = SHAPES[name]
    with harness.serving(stage, args) as base:
        requests.get(f"{base}/api/v1/me", timeout=30)  # every worker imports lazily
        run_wrk(base, script, argparse.Namespace(**{**vars(args), "duration": 2}))
        return run_wrk(base, script, args)


if __name__ == "__main__":
    main()
