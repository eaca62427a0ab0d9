"""The `hospital` command: database, demo data, serving, workers and audit checks."""

from __future__ import annotations

import base64
import os
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click
from alembic import command as alembic_command
from flask import Flask, current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext

from core import audit, runtime
from core.errors import ConfigError
from migrations import alembic_config
from web.app import create_app


def _app() -> Flask:
    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(f"configuration refused: {exc}") from exc


@click.group(cls=FlaskGroup, create_app=_app, add_version_option=False)
def cli() -> None:
    """互联网医院 service."""


@cli.group()
def db() -> None:
    """Database schema."""


@db.command()
@with_appcontext
def upgrade() -> None:
    """Apply every migration (creates the SQLite file in demo mode). Run as the schema owner;
    with APP_DB_ROLE set, the application's role is granted its rights on the new tables."""
    settings = runtime.current().settings
    alembic_command.upgrade(alembic_config(settings.database_url), "head")
    click.echo("database is at the latest revision")
    if settings.app_db_role:
        _grant(settings.app_db_role)


@db.command("grant-app-role")
@click.argument("role")
@with_appcontext
def grant_app_role_command(role: str) -> None:
    """Grant ROLE the application's rights and nothing more (run as the schema owner)."""
    _grant(role)


def _grant(role: str) -> None:
    from migrations.roles import grant_app_role

    engine = runtime.current().database.engine
    try:
        with engine.begin() as connection:
            grant_app_role(connection, role)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"role {role} may use the tables and append to the audit trail, nothing more")


@db.command()
@with_appcontext
def check() -> None:
    """Fail if the models and the migrations disagree."""
    alembic_command.check(alembic_config(runtime.current().settings.database_url))


@cli.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Create the demo institution and accounts (demo mode only)."""
    from web import demo

    if not runtime.current().settings.demo_mode:
        raise click.ClickException("seed-demo runs only with DEMO_MODE=1")
    with runtime.current().database.transaction() as session:
        created = demo.seed(session)
    for line in created:
        click.echo(f"created {line}")
    click.echo("demo data ready: accounts patient, doctor, pharmacist, kiosk, familydoctor, admin")
    click.echo(f"password for all: {demo.DEMO_PASSWORD}")


@cli.group()
def drugs() -> None:
    """The drug catalogue."""


@drugs.command("load")
@with_appcontext
def drugs_load() -> None:
    """Load the catalogue shipped with the package into the database (safe to repeat)."""
    from prescriptions.services.drugs import load_catalogue

    with runtime.current().database.transaction() as session:
        report = load_catalogue(session, audit.Actor.system())
    click.echo(
        f"drug catalogue: {report.added} added, {report.updated} updated, "
        f"{report.retired} retired; {report.blocked} barred from online prescribing"
    )


@drugs.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="show what would change, change nothing")
@with_appcontext
def drugs_import(path: str, dry_run: bool) -> None:
    """Import the hospital's drug dictionary (CSV or XLSX) as a new formulary version."""
    from prescriptions import formulary
    from prescriptions.services.drugs import import_file

    try:
        with runtime.current().database.transaction() as session:
            count, report = import_file(
                session,
                audit.Actor.system(),
                Path(path).read_bytes(),
                Path(path).name,
                dry_run=dry_run,
            )
    except formulary.FormularyInvalid as exc:
        for line in exc.extra.get("errors", [exc.detail]):
            click.echo(line, err=True)
        sys.exit(1)
    for change in report.diff[:200]:
        fields = ", ".join(f"{k}: {v[0]} → {v[1]}" for k, v in change.get("fields", {}).items())
        click.echo(f"{change['change']:8} {change['code']} {change['name']} {fields}".rstrip())
    made = "dry run, nothing changed" if dry_run else f"version {report.version or '(none)'}"
    click.echo(
        f"{count} products: {report.added} added, {report.updated} updated, "
        f"{report.retired} retired; {report.blocked} barred from online prescribing ({made})"
    )


@drugs.command("export")
@with_appcontext
def drugs_export() -> None:
    """Print the formulary in force as CSV with Chinese headers (edit it, import it back)."""
    from dataclasses import replace

    from sqlalchemy import select

    from prescriptions import formulary
    from prescriptions.models import Drug
    from prescriptions.services.drugs import product_of

    with runtime.current().database.transaction() as session:
        drugs = session.scalars(
            select(Drug).where(Drug.active.is_(True)).order_by(Drug.generic_name, Drug.strength)
        ).all()
        # Each row as it was imported: its own control, not the one screening added.
        rows = [replace(product_of(d), product_class=d.product_class) for d in drugs]
        click.echo(formulary.export(rows), nl=False)


@cli.command("triage-eval", with_appcontext=False)
@click.option("--corpus", multiple=True, help="a JSONL corpus file (default: the shipped ones)")
@click.option("--misses", is_flag=True, help="list the misses and false alarms")
def triage_eval(corpus: tuple[str, ...], misses: bool) -> None:
    """Measure red-flag triage on the corpus: recall per concept, specificity, time per message."""
    from followup.triage import evaluate

    argv = [arg for path in corpus for arg in ("--corpus", path)]
    report = evaluate.main([*argv, *(["--misses"] if misses else [])])
    if report.misses:
        sys.exit(1)


@cli.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("verify")
@click.option(
    "--checkpoints",
    "extra",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="another copy of the checkpoints (the supervision platform's export, a backup)",
)
@with_appcontext
def audit_verify(extra: tuple[str, ...]) -> None:
    """Walk the chain and hold it against every checkpoint; name the first thing that does not
    hold (exit status 1)."""
    import datetime as dt

    from core.audit_chain import AuditKeys, verify_chain
    from core.audit_checkpoints import CheckpointFile

    settings = runtime.current().settings
    external = CheckpointFile(settings.audit_checkpoint_file).read()
    for path in extra:
        external.extend(CheckpointFile(path).read())
    with runtime.current().database.transaction() as session:
        report = verify_chain(
            session,
            AuditKeys.derive(settings.audit_key),
            external=external,
            seal_bound=dt.timedelta(seconds=settings.audit_seal_bound_seconds),
        )
    if report.ok:
        click.echo(
            f"audit chain intact: {report.checked} events sealed, {report.unsealed} waiting, "
            f"held against {report.checkpoints} checkpoints"
        )
        return
    where = f" at event {report.broken_at}" if report.broken_at is not None else ""
    click.echo(
        f"audit chain BROKEN{where}: {report.reason} "
        f"({report.checked} events before it are intact)",
        err=True,
    )
    sys.exit(1)


@audit_group.command("seal")
@with_appcontext
def audit_seal() -> None:
    """Seal what waits now (beat does it every few seconds)."""
    from core.tasks import seal_audit

    size = seal_audit()
    click.echo(f"audit chain sealed up to position {size}" if size else "nothing waited")


@audit_group.command("public-key")
@with_appcontext
def audit_public_key() -> None:
    """Print the key that verifies the checkpoints (give it to whoever keeps a copy)."""
    from core.audit_chain import AuditKeys

    keys = AuditKeys.derive(runtime.current().settings.audit_key)
    click.echo(f"Ed25519 {keys.signing_public.hex()} (fingerprint {keys.fingerprint})")


@cli.group("wechat")
def wechat_group() -> None:
    """The Official Account bot."""


@wechat_group.command("say")
@click.argument("text")
@click.option("--openid", default="o-demo-zhangsan", show_default=True, help="who writes")
@with_appcontext
def wechat_say(text: str, openid: str) -> None:
    """Send TEXT to the bot as WeChat would (signed XML to /wechat/callback); print the reply."""
    import xml.etree.ElementTree as ET
    from xml.sax.saxutils import escape

    from wechat import signature

    cfg = runtime.current().settings
    if not cfg.wechat_oa_token:
        raise click.ClickException("WECHAT_OA_TOKEN is not set (demo mode sets one)")
    timestamp, nonce = str(int(time.time())), secrets.token_hex(4)
    body = (
        f"<xml><ToUserName>gh_demo</ToUserName><FromUserName>{escape(openid)}</FromUserName>"
        f"<CreateTime>{timestamp}</CreateTime><MsgType>text</MsgType>"
        f"<Content>{escape(text)}</Content><MsgId>{secrets.randbits(62)}</MsgId></xml>"
    )
    query = {"timestamp": timestamp, "nonce": nonce}
    query["signature"] = signature.sign(cfg.wechat_oa_token, timestamp, nonce)
    response = current_app.test_client().post("/wechat/callback", query_string=query, data=body)
    reply = response.get_data(as_text=True)
    if reply.startswith("<xml>"):
        reply = ET.fromstring(reply).findtext("Content") or reply  # noqa: S314 - our own reply
    click.echo(reply)


@cli.command("gen-key", with_appcontext=False)
def gen_key() -> None:
    """Print a fresh DATA_KEY (32 random bytes, URL-safe base64)."""
    click.echo(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())


def _loaded_app() -> Flask:
    """The app, created without pushing an application context: a long-running door (the
    server, a worker) must not hand one context to everything it runs."""
    app: Flask = click.get_current_context().ensure_object(ScriptInfo).load_app()
    return app


@cli.command(with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", "8000")))
@click.option("--workers", type=int, default=1, show_default=True)
@click.option("--threads", type=int, default=4, show_default=True)
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the app with gunicorn (PORT overrides the port)."""
    from gunicorn.app.base import BaseApplication

    app = _loaded_app()
    eager = runtime.current().settings.celery_eager
    _start_demo_faceid()

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("accesslog", "-")
            if eager:
                self.cfg.set("post_worker_init", _start_in_process_relay)

        def load(self) -> Any:
            return app

    click.echo(f"serving on http://{host}:{port}")
    Server().run()


def _start_demo_faceid() -> None:
    """In demo mode, the fake 人脸核身 (the demo's public-security source) on its port."""
    from core.settings import DEMO_OA
    from identity.verification import fake_server
    from web.demo import faceid_references

    cfg = runtime.current().settings
    if not cfg.demo_mode or cfg.faceid_api_base != DEMO_OA["faceid_api_base"]:
        return
    port = int(cfg.faceid_api_base.rsplit(":", 1)[1])
    state = fake_server.FakeFaceId(cfg.faceid_secret_id, cfg.faceid_secret_key, faceid_references())
    try:
        fake_server.serve(state, port)
    except OSError as exc:
        click.echo(f"demo 人脸核身 not started on port {port}: {exc}", err=True)
        return
    click.echo(f"demo 人脸核身 (fake Tencent FaceId) on {cfg.faceid_api_base}")


def _start_in_process_relay(_worker: Any) -> None:
    """Without a broker there is no beat: retry due outbox messages from a thread instead."""
    from core.tasks import relay_outbox

    def loop() -> None:
        while True:
            time.sleep(10)
            try:
                relay_outbox()
            except Exception:  # keep the loop alive; the failure is logged by the logger
                current_logger().exception("in-process outbox relay failed")

    threading.Thread(target=loop, name="outbox-relay", daemon=True).start()


def current_logger() -> Any:
    import logging

    return logging.getLogger("hospital.relay")


def _require_broker() -> None:
    if runtime.current().settings.redis_url is None:
        raise click.ClickException("set REDIS_URL: without a broker tasks run in process")


@cli.command(with_appcontext=False)
@click.option("--concurrency", type=int, default=2, show_default=True)
def worker(concurrency: int) -> None:
    """Run a Celery worker (needs REDIS_URL)."""
    from core.celery_app import celery

    _loaded_app()
    _require_broker()
    celery.worker_main(["worker", "--loglevel=INFO", f"--concurrency={concurrency}"])


@cli.command(with_appcontext=False)
def beat() -> None:
    """Run Celery beat, the scheduler of periodic tasks (needs REDIS_URL)."""
    from core.celery_app import celery

    _loaded_app()
    _require_broker()
    celery.start(["beat", "--loglevel=INFO"])


def main() -> None:
    cli()
