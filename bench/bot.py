"""Benchmark: the Official Account webhook against gunicorn, PostgreSQL and Redis.

    .venv/bin/python -m bench.bot [--messages 2000] [--clients 8] [--workers 2]

Seeds a scratch database with linked followers, starts `hospital serve` on 127.0.0.1 with an
Official Account configured, and posts signed messages from client threads as WeChat would: a
mix of menu text, blood-pressure readings, "我的处方" and menu clicks, each with a fresh MsgId.
Reports messages per second and p50/p99 reply time, which must stay far below WeChat's 5 s.
Traffic goes to 127.0.0.1 only; the run is bounded.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import secrets
import statistics
import time

import requests

from bench import harness
from bench.consultations import seed as seed_visits
from bench.face_verify import _percentile

TOKEN, APP_ID = "bench-oa-token", "wx-bench-oa"
MESSAGES = ["你好", "血压 132/84", "我的处方", "血糖 6.4", "CLICK:MY_RX", "CLICK:VISIT"]


def link_followers(count: int) -> list[str]:
    from sqlalchemy import select

    from core import clock, runtime
    from identity.models import Account, Role, WeChatFollower

    openids = []
    with runtime.current().database.transaction() as session:
        patients = session.scalars(
            select(Account).where(Account.role == Role.patient).order_by(Account.id).limit(count)
        )
        for account in patients:
            openid = f"o-bench-{account.id}"
            session.add(
                WeChatFollower(app_id=APP_ID, openid=openid, account_id=account.id,
                               subscribed=True, last_message_at=clock.now(), accepted_templates=[])
            )  # fmt: skip
            openids.append(openid)
    return openids


def _xml(openid: str, message: str) -> str:
    head = (
        f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime>"
    )
    if message.startswith("CLICK:"):
        key = message.removeprefix("CLICK:")
        return (
            head + "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[CLICK]]></Event>"
            f"<EventKey><![CDATA[{key}]]></EventKey></xml>"
        )
    return (
        head + f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{message}]]></Content>"
        f"<MsgId>{secrets.randbits(62)}</MsgId></xml>"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    harness.add_server_arguments(parser)
    args = parser.parse_args()
    with harness.scratch_stage(args) as stage:
        # Plaintext, as the demo: the measure is of the handling, not of AES.
        stage.env.update({"WECHAT_OA_TOKEN": TOKEN, "WECHAT_OA_APP_ID": APP_ID,
                          "WECHAT_OA_PLAINTEXT_ALLOWED": "1"})  # fmt: skip
        seed_visits(stage.env, args.clients, 1)
        openids = link_followers(args.clients)
        with harness.serving(stage, args) as base:
            harness.warm_up(base, "", path="/healthz")
            run(base, args, openids)


def run(base: str, args: argparse.Namespace, openids: list[str]) -> None:
    latencies: list[float] = []
    errors: list[str] = []
    per_client = args.messages // args.clients

    def client(i: int) -> None:
        http = requests.Session()
        messages = itertools.cycle(MESSAGES)
        for _ in range(per_client):
            timestamp, nonce = str(int(time.time())), secrets.token_hex(4)
            signature = hashlib.sha1(  # noqa: S324 - WeChat's scheme
                "".join(sorted([TOKEN, timestamp, nonce])).encode()
            ).hexdigest()
            body = _xml(openids[i], next(messages)).encode()
            started = time.perf_counter()
            response = http.post(
                f"{base}/wechat/callback",
                params={"timestamp": timestamp, "nonce": nonce, "signature": signature},
                data=body,
                timeout=10,
            )
            elapsed = time.perf_counter() - started
            latencies.append(elapsed)
            if response.status_code != 200 or "<Content>" not in response.text:
                errors.append(f"{response.status_code} {response.text[:120]}")

    elapsed = harness.run_clients(args.clients, client)
    print(
        f"{len(latencies)} webhook messages by {args.clients} clients against gunicorn "
        f"({args.workers} workers x {args.threads} threads), PostgreSQL, Redis; {elapsed:.1f} s"
    )
    served = len(latencies) - len(errors)  # answered with a reply, not an error
    print(f"messages answered per second: {served / elapsed:.1f} ({len(errors)} errors)")
    print(
        f"reply time: p50 {statistics.median(latencies) * 1000:.1f} ms   "
        f"p99 {_percentile(latencies, 0.99) * 1000:.1f} ms   max {max(latencies) * 1000:.1f} ms "
        "(WeChat gives up at 5000 ms)"
    )
    if errors:
        print(f"{len(errors)} errors, first: {errors[0]}")


if __name__ == "__main__":
    main()
