"""The drug dictionary as a service: screening at every door that takes a drug (audited when it
blocks), loading the shipped catalogue and importing the hospital's formulary in versions, and
what a doctor may pick."""

from __future__ import annotations

import datetime as dt
import enum
import threading
from collections import Counter
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, clock
from core.audit import Actor
from prescriptions import formulary, screening
from prescriptions.catalogue import Product, products
from prescriptions.models import (
    Drug,
    FormularyVersion,
)
from prescriptions.screening import Screened, screen


def screen_names(session: Session, actor: Actor, names: list[str], door: str) -> list[Screened]:
    """Screen what a door received; every blocked attempt leaves an audit event."""
    idx = formulary_index(session)
    results = [screen(name, clock.today(), idx) for name in names]
    for result in results:
        if result.blocked:
            audit.record(
                session,
                actor,
                "drug.blocked",
                "drug_name",
                result.name[:64],
                {
                    "door": door,
                    "class": result.control_class.value if result.control_class else None,
                    "known": result.known,
                },
            )
    return results


MAX_DIFF_LINES = 5000


@dataclass(frozen=True)
class LoadReport:
    added: int
    updated: int
    retired: int
    blocked: int
    version: int | None = None  # the formulary version made (None: nothing changed)
    diff: tuple[dict[str, Any], ...] = ()


def load_catalogue(session: Session, actor: Actor) -> LoadReport:
    """The package's own formulary, imported like a hospital's file. Running it again
    changes nothing."""
    data = resources.files("prescriptions.data").joinpath("drugs.csv").read_bytes()
    return import_formulary(
        session, actor, products(), filename="drugs.csv", digest=formulary.digest(data)
    )


def import_formulary(
    session: Session,
    actor: Actor,
    listed: tuple[Product, ...] | list[Product],
    *,
    filename: str,
    digest: str,
    account_id: int | None = None,
    dry_run: bool = False,
) -> LoadReport:
    """Bring the drugs table in line with the file: every product screened (a controlled
    product is kept, blocked), drugs that left the file retired (kept for old prescriptions),
    never deleted. A change makes a new formulary version with its diff; none makes none.
    With dry_run nothing is written: the diff is what the import would do."""
    latest = session.scalar(
        select(FormularyVersion).order_by(FormularyVersion.number.desc()).limit(1).with_for_update()
    )
    existing = {d.code: d for d in session.scalars(select(Drug))}
    day = clock.today()
    candidate = screening.build_index(listed)
    diff: list[dict[str, Any]] = []
    rows: list[tuple[Drug | None, str, dict[str, Any]]] = []
    blocked = 0
    for product in listed:
        values = _values(product, _screened(product, day, candidate))
        blocked += values["blocked"]
        drug = existing.get(product.code)
        if drug is None:
            diff.append({"code": product.code, "name": product.generic_name, "change": "added"})
        else:
            changed = {
                k: [_plain(getattr(drug, k)), _plain(v)]
                for k, v in values.items()
                if getattr(drug, k) != v
            }
            if not changed:
                continue
            diff.append(
                {
                    "code": product.code,
                    "name": product.generic_name,
                    "change": "changed",
                    "fields": changed,
                }
            )
        rows.append((drug, product.code, values))
    codes = {p.code for p in listed}
    leaving = [d for code, d in existing.items() if code not in codes and d.active]
    diff.extend({"code": d.code, "name": d.generic_name, "change": "retired"} for d in leaving)
    counts = Counter(entry["change"] for entry in diff)
    report = LoadReport(
        counts["added"], counts["changed"], counts["retired"], blocked, None, tuple(diff)
    )
    if dry_run or not diff:
        return report
    number = (latest.number if latest else 0) + 1
    for drug, code, values in rows:
        if drug is None:
            session.add(Drug(code=code, formulary_version=number, **values))
        else:
            for key, value in values.items():
                setattr(drug, key, value)
            drug.updated_at = clock.now()
            drug.formulary_version = number
    for drug in leaving:
        drug.active = False
        drug.formulary_version = number
    version = FormularyVersion(
        number=number,
        filename=filename[:200],
        sha256=digest,
        products=len(listed),
        added=report.added,
        changed=report.updated,
        retired=report.retired,
        diff=diff[:MAX_DIFF_LINES],
        imported_by_account_id=account_id,
    )
    session.add(version)
    session.flush()
    audit.record(
        session,
        actor,
        "drug_catalogue.load",
        "formulary_version",
        number,
        {
            "added": report.added,
            "updated": report.updated,
            "retired": report.retired,
            "sha256": digest,
        },
    )
    formulary_index(session)
    return replace(report, version=number)


def import_file(
    session: Session,
    actor: Actor,
    content: bytes,
    filename: str,
    *,
    account_id: int | None = None,
    dry_run: bool = False,
) -> tuple[int, LoadReport]:
    """A dictionary file read (FormularyInvalid naming every bad line) and imported."""
    filename = Path(filename.replace("\\", "/")).name or "formulary"  # a label, never a path
    listed = formulary.read(content, filename)
    report = import_formulary(
        session,
        actor,
        listed,
        filename=filename,
        digest=formulary.digest(content),
        account_id=account_id,
        dry_run=dry_run,
    )
    return len(listed), report


def _screened(product: Product, day: dt.date, idx: screening.Index) -> Screened:
    """A product as its name screens, or as its most controlled ingredient does when that is
    worse (an ordinary name over 盐酸吗啡, 复方XX可待因): a dictionary cannot list one unbarred."""
    result = screening.screen(product.generic_name, day, idx)
    for ingredient in product.ingredients:
        if result.blocked:
            break
        contained = screening.screen(ingredient, day, idx)
        if contained.blocked:
            result = replace(contained, products=result.products)
    return result


def _values(product: Product, result: Screened) -> dict[str, Any]:
    return {
        "generic_name": product.generic_name,
        "english_name": product.english_name,
        "brands": list(product.brands),
        "ingredients": list(product.ingredients),
        "dosage_form": product.dosage_form,
        "strength": product.strength,
        "route": product.route,
        "atc": product.atc,
        "rx": product.rx,
        "max_daily_dose": product.max_daily_dose,
        "dose_unit": product.dose_unit,
        "dose_per_unit": product.dose_per_unit,
        "unit": product.unit,
        "pack_size": product.pack_size,
        "pack_unit": product.pack_unit,
        "price_fen": product.price_fen,
        "approval_no": product.approval_no,
        "insurance_code": product.insurance_code,
        "product_class": product.product_class,
        "control_class": result.control_class,
        "blocked": result.blocked,
        "source": product.source[:300],
        "active": True,
    }


def _plain(value: object) -> object:
    return value.value if isinstance(value, enum.Enum) else value


def product_of(drug: Drug) -> Product:
    """A formulary row as screening and dosing see it."""
    return Product(
        code=drug.code,
        generic_name=drug.generic_name,
        english_name=drug.english_name,
        brands=tuple(drug.brands),
        ingredients=tuple(drug.ingredients),
        dosage_form=drug.dosage_form,
        strength=drug.strength,
        route=drug.route,
        atc=drug.atc,
        rx=drug.rx,
        max_daily_dose=drug.max_daily_dose,
        # Barred when it was imported stays barred here, whatever its name now resolves to.
        product_class=drug.product_class or (drug.control_class if drug.blocked else None),
        source=drug.source,
        dose_unit=drug.dose_unit,
        dose_per_unit=drug.dose_per_unit,
        unit=drug.unit,
        pack_size=drug.pack_size,
        pack_unit=drug.pack_unit,
        price_fen=drug.price_fen,
        approval_no=drug.approval_no,
        insurance_code=drug.insurance_code,
    )


_INSTALLING = threading.Lock()


def formulary_index(session: Session) -> screening.Index:
    """Screen against the formulary version in force in the database: rebuilt in this process
    when another import made a newer one; the package's own before any import."""
    latest = session.execute(
        select(FormularyVersion.id, FormularyVersion.sha256, FormularyVersion.imported_at)
        .order_by(FormularyVersion.number.desc())
        .limit(1)
    ).first()
    key = tuple(latest) if latest else None
    if key != screening.installed_version():
        # One thread builds it (seconds for a full formulary); the process's other threads,
        # arriving meanwhile, wait for that index rather than each building their own.
        with _INSTALLING:
            if key != screening.installed_version():
                built = None
                if latest is not None:
                    drugs = session.scalars(
                        select(Drug).where(Drug.active.is_(True)).order_by(Drug.id)
                    ).all()
                    built = screening.build_index([product_of(d) for d in drugs])
                screening.install(built, key)
    return screening.index()


def formulary_version(session: Session, number: int) -> FormularyVersion | None:
    return session.scalar(select(FormularyVersion).where(FormularyVersion.number == number))


def versions_of_formulary(session: Session, limit: int = 50) -> list[FormularyVersion]:
    return list(
        session.scalars(
            select(FormularyVersion).order_by(FormularyVersion.number.desc()).limit(limit)
        )
    )


def prescribable_names(session: Session) -> list[str]:
    """What a doctor may pick (active, not special-management): the generic name, with the
    strength where the formulary holds several."""
    rows = session.execute(
        select(Drug.generic_name, Drug.strength)
        .where(Drug.active.is_(True), Drug.blocked.is_(False))
        .order_by(Drug.generic_name, Drug.strength)
    ).all()
    strengths = Counter(name for name, _ in rows)
    return [f"{name} {strength}" if strengths[name] > 1 else name for name, strength in rows]


def drug_by_code(session: Session, code: str) -> Drug | None:
    return session.scalar(select(Drug).where(Drug.code == code))
