"""`hospital drugs load`: the package's catalogue in the database, safely repeatable."""

from __future__ import annotations

from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import Actor
from prescriptions.catalogue import products
from prescriptions.models import Drug
from prescriptions.services.drugs import LoadReport, load_catalogue
from web.cli import cli


def test_load_is_complete_and_repeatable(app: Flask, session: Session) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["drugs", "load"], obj=ScriptInfo(create_app=lambda: app))
    assert first.exit_code == 0, first.output
    assert f"{len(products())} added" in first.output
    second = runner.invoke(cli, ["drugs", "load"], obj=ScriptInfo(create_app=lambda: app))
    assert "0 added, 0 updated, 0 retired" in second.output
    oxycontin = session.scalars(select(Drug).where(Drug.generic_name == "盐酸羟考酮缓释片")).one()
    assert oxycontin.blocked
    assert oxycontin.brands == ["奥施康定"]
    amlodipine = session.scalars(
        select(Drug).where(Drug.generic_name == "苯磺酸氨氯地平片", Drug.strength == "5mg")
    ).one()
    assert not amlodipine.blocked
    assert amlodipine.max_daily_dose == 10


def test_drug_that_left_the_data_is_retired_not_deleted(
    session: Session, catalogue: LoadReport
) -> None:
    old = Drug(
        code="Dgone000000",
        generic_name="旧药",
        english_name="old",
        brands=[],
        ingredients=["旧药"],
        dosage_form="片",
        strength="",
        route="口服",
        atc="",
        rx=True,
        max_daily_dose=None,
        control_class=None,
        blocked=False,
        source="test",
    )
    session.add(old)
    session.flush()
    report = load_catalogue(session, Actor.system())
    assert report.retired == 1
    assert session.get(Drug, old.id) is not None
    assert old.active is False
