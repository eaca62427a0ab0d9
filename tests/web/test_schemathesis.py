"""Property-based fuzzing of the API against its own OpenAPI document (schemathesis).

Every operation in /api/v1/openapi.json is called with generated requests (valid and invalid
ones), once for each relevant caller: every role the operation admits (`test_api_admitted`),
and a role it refuses plus no token at all (`test_api_refused`). The partner callbacks are
called correctly signed (caller `partner`), the WeChat callback with WeChat's query signature
(caller `wechat`). Path parameters and top-level body fields that name a record
(`consultation_id`, `prescription_id`, `team_id`, `username`...) are drawn half the time from a
small world seeded for each test -- a patient with a return visit and an approved prescription,
another patient with a draft, a pharmacy with stock, a pharmacist and a kiosk, a family-doctor
contract, a dependent, a referral -- so that requests get past "not found" into the views.

Each response must not be a server error (5xx) and must conform to the document: a documented
status code, the documented content type and headers, a body matching the documented schema.
A refused caller must never be answered 2xx/3xx. A 5xx failure carries the server's traceback
(from the `web.errors` log). Each test (one operation, one caller) runs on the `connection`
fixture's outer transaction, rolled back afterwards.

The budget is bounded: SCHEMATHESIS_MAX_EXAMPLES (default 25) generated requests per operation
and admitted caller, SCHEMATHESIS_MAX_EXAMPLES_REFUSED (default 5) per refused caller.
Generation is derandomised (the same requests on every run) unless SCHEMATHESIS_RANDOM=1;
SCHEMATHESIS_COVERAGE=1 adds schemathesis' coverage phase (boundary values and missing or
mistyped fields for every field, about 10,000 more requests). The number of requests sent, the
answers by status code and the failing checks are printed at the end of the run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, sessionmaker

from core import runtime
from core.audit import Actor
from followup.models import Consultation, Contract, FollowUpPlan
from followup.services import contracts
from identity.models import Dependent, Role, SigningKey
from identity.rules import PractitionerKind
from prescriptions.models import Prescription
from prescriptions.services.drugs import LoadReport
from tests import conftest, factories
from tests.fakes import faceid
from tests.fakes import wechat as fake_wechat
from tests.helpers import bearer
from tests.helpers import partner_signature as partner_sign
from tests.pharmacy.helpers import (
    approved_with_face,
    code_of,
    kiosk_at,
    pharmacist_at,
    pharmacy,
    stock_up,
)
from tests.prescriptions.helpers import ITEM, written_prescription
from web.app import create_app
from wechat import client as wechat_client
from wechat import signature as wechat_signature

pytestmark = pytest.mark.postgresql

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))
MAX_EXAMPLES_REFUSED = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES_REFUSED", "5"))
DERANDOMIZE = os.environ.get("SCHEMATHESIS_RANDOM") != "1"
COVERAGE = os.environ.get("SCHEMATHESIS_COVERAGE") == "1"

PLATFORM_SECRET = "schemathesis-platform-secret"
COURIER_SECRET = "schemathesis-courier-secret"
OA_TOKEN = "schemathesis-oa-token"
OTHER_PATIENT_ID_NUMBER = faceid.OTHER[1]

ANONYMOUS = "anonymous"
PARTNER = "partner"  # a correctly signed platform or courier callback
WECHAT = "wechat"  # WeChat's signed call of the Official Account callback
ROLE_ORDER = (
    Role.patient,
    Role.doctor,
    Role.pharmacist,
    Role.family_doctor,
    Role.kiosk,
    Role.admin,
)

# What each response must satisfy; a failure of any of them fails the test.
CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)


# --- the document, and who may call what --------------------------------------------------


@dataclass(frozen=True)
class Access:
    """Who an operation admits, read from its view as the OpenAPI builder reads it."""

    public: bool
    roles: tuple[Role, ...]  # empty: any signed-in account
    partner: str | None  # "platform" or "courier" for HMAC-signed callbacks
    wechat: bool


def _load() -> tuple[dict[str, Any], dict[str, Access]]:
    """The document as the app serves it, from an app built only for that; the runtime it
    installs is put back, so that collecting this module changes nothing for other tests."""
    saved = getattr(runtime, "_runtime", None)
    built = create_app(conftest.test_settings())
    try:
        document = built.test_client().get("/api/v1/openapi.json").get_json()
        access = {}
        for endpoint, view in built.view_functions.items():
            spec = getattr(view, "openapi", None)
            if spec is not None:
                access[endpoint] = Access(
                    public=spec.public,
                    roles=tuple(getattr(view, "required_roles", ()) or ()),
                    partner=getattr(view, "signed_by", None),
                    wechat=endpoint.startswith("wechat."),
                )
    finally:
        built.extensions["hospital.db"].dispose()
        runtime._runtime = saved  # type: ignore[attr-defined]
    return document, access


DOCUMENT, ACCESS = _load()


def callers(operation_id: str) -> tuple[list[str], list[str]]:
    """(admitted, refused) callers of an operation."""
    access = ACCESS[operation_id]
    if access.partner:
        return [PARTNER], [ANONYMOUS]
    if access.wechat:
        return [WECHAT], [ANONYMOUS]
    if access.public:
        return [ANONYMOUS, Role.patient.value], []
    if not access.roles:  # any signed-in account
        return [role.value for role in ROLE_ORDER], [ANONYMOUS]
    admitted = [role.value for role in ROLE_ORDER if role in access.roles]
    refused = next(role for role in ROLE_ORDER if role not in access.roles)
    return admitted, [refused.value, ANONYMOUS]


schema = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=schemathesis.Config.from_dict(
        {
            # The document has no examples. The coverage phase (boundary values, missing and
            # mistyped fields, for every field) has no bound on its number of cases: off in CI.
            "phases": {"examples": {"enabled": False}, "coverage": {"enabled": COVERAGE}},
            # Credentials are the caller's (below), not generated: no made-up Authorization.
            "generation": {"with-security-parameters": False},
        }
    ),
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each operation's test once per caller (schemathesis calls this for each operation)."""
    if "caller" not in metafunc.fixturenames:
        return
    from schemathesis.generation.hypothesis.builder import ApiOperationMark

    operation = ApiOperationMark.get(metafunc.definition.obj)
    assert operation is not None
    admitted, refused = callers(operation.definition.raw["operationId"])
    chosen = admitted if metafunc.definition.name == "test_api_admitted" else refused
    metafunc.parametrize("caller", chosen)


# --- the seeded world ---------------------------------------------------------------------


@dataclass
class World:
    headers: dict[str, dict[str, str]]
    # values for path parameters and top-level body fields, by name
    known: dict[str, list[Any]] = field(default_factory=dict)


CURRENT: dict[str, World | None] = {"world": None}


def build_world(app: Flask, session: Session, wechat: fake_wechat.FakeWeChat) -> World:
    client = app.test_client()
    # 张三: a return visit, its prescription signed and approved (his face enrolled).
    approved = approved_with_face(client, session)
    patient, doctor = approved.patient, approved.doctor
    assert patient.person is not None
    prescription = session.get(Prescription, approved.id)
    assert prescription is not None
    # 王五: another patient, another doctor, an unsigned draft (for IDOR and the draft paths).
    draft = written_prescription(client, session, OTHER_PATIENT_ID_NUMBER, sign=False)
    draft_row = session.get(Prescription, draft.id)
    assert draft_row is not None
    assert draft.patient.person is not None
    visit = session.get(Consultation, prescription.consultation_id)
    draft_visit = session.get(Consultation, draft_row.consultation_id)
    assert visit is not None
    assert draft_visit is not None

    where = pharmacy(session)
    pharmacist = pharmacist_at(session, where)
    terminal = kiosk_at(session, where)
    lot = stock_up(session, where, "苯磺酸氨氯地平片", 100)

    family_doctor = factories.practitioner(kind=PractitionerKind.family_doctor, department="全科")
    team = contracts.create_team(session, Actor.system(), "团队", "社区中心", family_doctor, [])
    patient_headers = approved.patient_headers
    agreement = client.get("/api/v1/family-doctor/agreement", headers=patient_headers).json
    signed = client.post(
        "/api/v1/me/contracts",
        headers=patient_headers,
        json={
            "team_id": team.id,
            "agreement_version": agreement["version"],
            "agreement_digest": agreement["digest"],
        },
    )
    assert signed.status_code == 201, signed.json
    contract = session.get(Contract, signed.json["id"])
    plans = session.scalars(select(FollowUpPlan.id).where(FollowUpPlan.contract_id == contract.id))
    referral = client.post(
        "/api/v1/me/referrals", headers=patient_headers, json={"reason": "想去医院复查"}
    )
    assert referral.status_code == 201, referral.json
    message = client.post(
        f"/api/v1/consultations/{prescription.consultation_id}/messages",
        headers=patient_headers,
        json={"text": "医生您好"},
    )
    assert message.status_code == 201, message.json

    # A second confirmed diagnosis of 张三's with no visit yet, so that a new visit may start.
    spare = factories.diagnosis(patient.person, code="E11.900", name="2型糖尿病")
    child = factories.child_of(patient)
    dependent = session.scalar(select(Dependent).where(Dependent.person_id == child.id))
    assert dependent is not None
    admin = factories.account(Role.admin)
    key = session.scalar(select(SigningKey).where(SigningKey.practitioner_id == doctor.id))
    assert key is not None
    wechat.codes["wx-code"] = {"openid": "o-schemathesis", "session_key": "sk"}

    headers = {
        ANONYMOUS: {},
        Role.patient.value: patient_headers,
        Role.doctor.value: approved.doctor_headers,
        Role.pharmacist.value: bearer(session, account=pharmacist.account),
        Role.family_doctor.value: bearer(session, account=family_doctor.account),
        Role.kiosk.value: terminal.headers,
        Role.admin.value: bearer(session, account=admin),
    }
    people = [patient.person.id, child.id, draft.patient.person.id]
    known: dict[str, list[Any]] = {
        "consultation_id": [prescription.consultation_id, draft_row.consultation_id],
        "prescription_id": [approved.id, draft.id],
        "diagnosis_id": [spare.id, visit.diagnosis_id, draft_visit.diagnosis_id],
        "seq": [1],
        "dependent_id": [dependent.id],
        "person_id": people,
        "patient_id": people,
        "practitioner_id": [doctor.id, pharmacist.id, family_doctor.id],
        "pharmacy_id": [where.id],
        "lot_id": [lot.id],
        "kiosk_id": [terminal.kiosk.id],
        "team_id": [team.id],
        "contract_id": [contract.id],
        "plan_id": list(plans),
        "referral_id": [referral.json["id"]],
        "fingerprint": [key.fingerprint],
        "token": [code_of(session, approved.id)],
        "username": [patient.username, pharmacist.account.username],
        "pharmacist_username": [pharmacist.account.username],
        "password": [factories.PASSWORD],
        "pharmacist_password": [factories.PASSWORD],
        "code": ["wx-code"],
        # body fields whose valid values random data seldom hits
        "consent": [True],
        "symptoms": [["none"]],
        "items": [[ITEM]],
    }
    return World(headers, {name: values for name, values in known.items() if values})


# --- generation hooks: known records half the time ----------------------------------------


def _maybe_known(name: str, value: Any) -> st.SearchStrategy[Any]:
    world = CURRENT["world"]
    if world is None or name not in world.known:
        return st.just(value)
    return st.one_of(st.just(value), st.sampled_from(world.known[name]))


@schema.hook
def flatmap_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    if not path_parameters:
        return st.just(path_parameters)
    return st.fixed_dictionaries({k: _maybe_known(k, v) for k, v in path_parameters.items()})


@schema.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
    if not isinstance(body, dict) or not body:
        return st.just(body)
    return st.fixed_dictionaries({k: _maybe_known(k, v) for k, v in body.items()})


# --- fixtures -----------------------------------------------------------------------------


@dataclass
class Fuzzed:
    app: Flask
    runtime: runtime.Runtime
    wechat: fake_wechat.FakeWeChat


@pytest.fixture(scope="module")
def fuzzed(app: Flask) -> Iterator[Fuzzed]:
    """An app with its integrations configured (the session's app has them off): the partner
    callbacks' secrets, the Official Account's token, and the fake WeChat and 人脸核身."""
    wechat = fake_wechat.start()
    with faceid.running() as faceid_server:
        saved = runtime.current()
        built = create_app(
            conftest.test_settings(
                PLATFORM_CALLBACK_SECRET=PLATFORM_SECRET,
                COURIER_CALLBACK_SECRET=COURIER_SECRET,
                WECHAT_OA_TOKEN=OA_TOKEN,
                WECHAT_OA_PLAINTEXT_ALLOWED=True,
                WECHAT_APP_ID=wechat.app_id,
                WECHAT_APP_SECRET=wechat.secret,
                WECHAT_API_BASE=wechat.url,
                **faceid.settings_for(faceid_server),
            )
        )
        fuzz_runtime = runtime.current()
        runtime.install(saved)
        try:
            yield Fuzzed(built, fuzz_runtime, wechat)
        finally:
            built.extensions["hospital.db"].dispose()
            wechat.stop()
            wechat_client.forget_clients()


@contextmanager
def _fuzzed_on(fuzzed: Fuzzed, connection: Connection) -> Iterator[None]:
    """The fuzzed app (and its runtime, for the tasks run in process) on the test's
    connection, as the `connection` fixture does for the session's app."""
    saved = runtime.current()
    runtime.install(fuzzed.runtime)
    database = fuzzed.app.extensions["hospital.db"]
    original = database.sessionmaker
    database.sessionmaker = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield
    finally:
        database.sessionmaker = original
        runtime.install(saved)


@pytest.fixture
def world(
    fuzzed: Fuzzed, connection: Connection, session: Session, catalogue: LoadReport
) -> Iterator[World]:
    """The whole world (prescribed from the shipped catalogue), for the callers an operation
    admits."""
    with _fuzzed_on(fuzzed, connection):
        CURRENT["world"] = build_world(fuzzed.app, session, fuzzed.wechat)
        try:
            yield CURRENT["world"]
        finally:
            CURRENT["world"] = None


@pytest.fixture
def strangers(fuzzed: Fuzzed, connection: Connection, session: Session) -> Iterator[World]:
    """Only a signed-in account of each role, for the callers an operation refuses (they are
    turned away before any record is looked at)."""
    with _fuzzed_on(fuzzed, connection):
        headers = {role.value: bearer(session, role) for role in ROLE_ORDER}
        yield World({ANONYMOUS: {}, **headers})


class _Tracebacks(logging.Handler):
    """The tracebacks `web.errors` logs for unhandled exceptions (answered 500)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.seen.append("".join(traceback.format_exception(*record.exc_info)))


@pytest.fixture
def server_tracebacks() -> Iterator[_Tracebacks]:
    handler = _Tracebacks()
    logger = logging.getLogger("web.errors")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


# --- the run's tally, printed at the end --------------------------------------------------

TALLY: dict[str, Any] = {
    "cases": 0,
    "status": Counter(),
    "failed_tests": Counter(),
    "admitted_2xx": {},  # (operation, caller) -> whether any request was answered 2xx
}


class _Summary:
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" and report.failed and "test_schemathesis.py" in report.nodeid:
            text = str(report.longrepr)
            for title in sorted({line.strip("- |") for line in text.splitlines()}):
                if title.startswith("ST") and title[2:5].isdigit():
                    TALLY["failed_tests"][title] += 1

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.section("schemathesis")
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(TALLY["status"].items()))
        terminalreporter.line(f"schemathesis: {TALLY['cases']} generated requests sent")
        terminalreporter.line(f"responses by status: {statuses}")
        for title, count in sorted(TALLY["failed_tests"].items()):
            terminalreporter.line(f"failing tests with {title}: {count}")
        never = sorted(key for key, ok in TALLY["admitted_2xx"].items() if not ok)
        terminalreporter.line(
            f"admitted (operation, caller) pairs never answered 2xx: {len(never)} of "
            f"{len(TALLY['admitted_2xx'])} (SCHEMATHESIS_VERBOSE=1 lists them)"
        )
        if os.environ.get("SCHEMATHESIS_VERBOSE") == "1":
            for label, caller in never:
                terminalreporter.line(f"  {label} as {caller}")


@pytest.fixture(scope="module", autouse=True)
def _summary(request: pytest.FixtureRequest) -> None:
    manager = request.config.pluginmanager
    if not manager.has_plugin("schemathesis-summary"):
        manager.register(_Summary(), "schemathesis-summary")


# --- the tests ----------------------------------------------------------------------------


def _signed(case: schemathesis.Case, caller: str) -> tuple[dict[str, str], dict[str, Any]]:
    """What a partner or WeChat adds to a request: (headers, keyword arguments of the call)."""
    timestamp = str(int(time.time()))
    if caller == WECHAT:
        nonce = hashlib.sha256(os.urandom(8)).hexdigest()[:16]
        signature = wechat_signature.sign(OA_TOKEN, timestamp, nonce)
        # In the case's query, so that the reproduction shows it.
        case.query = {**(case.query or {}), "timestamp": timestamp, "nonce": nonce,
                      "signature": signature, "echostr": "echo"}  # fmt: skip
        return {}, {}
    partner = ACCESS[case.operation.definition.raw["operationId"]].partner
    assert partner is not None
    # The body is serialised here, so that the bytes signed are the bytes sent.
    serialised = case.as_transport_kwargs()
    if "json" in serialised:
        body = json.dumps(serialised["json"]).encode()
    else:
        body = serialised.get("data") or b""
        if isinstance(body, str):
            body = body.encode()
    secret = PLATFORM_SECRET if partner == "platform" else COURIER_SECRET
    prefix = f"X-{partner.capitalize()}"
    signature = partner_sign(secret, timestamp, body)
    headers = {f"{prefix}-Timestamp": timestamp, f"{prefix}-Signature": signature}
    return headers, {"data": body}


def _call_and_check(
    case: schemathesis.Case,
    caller: str,
    fuzzed: Fuzzed,
    world: World,
    logged: _Tracebacks,
    admitted: bool,
) -> None:
    TALLY["cases"] += 1
    headers = dict(world.headers.get(caller, {}))
    call_kwargs: dict[str, Any] = {}
    if caller in (PARTNER, WECHAT):
        extra_headers, call_kwargs = _signed(case, caller)
        headers.update(extra_headers)
    logged.seen.clear()
    response = case.call(app=fuzzed.app, headers=headers, **call_kwargs)
    TALLY["status"][response.status_code] += 1
    if admitted:
        key = (case.operation.label, caller)
        TALLY["admitted_2xx"][key] = TALLY["admitted_2xx"].get(key, False) or (
            200 <= response.status_code < 300
        )
    if not admitted:
        # A caller the operation refuses must be turned away, whatever else is wrong.
        assert not 200 <= response.status_code < 400, (
            f"{case.operation.label} answered {response.status_code} to {caller}, whom it "
            f"refuses:\n{case.as_curl_command(headers=headers)}"
        )
    try:
        case.validate_response(response, checks=list(CHECKS), headers=headers)
    except FailureGroup as failures:
        failures.add_note(f"caller: {caller}")
        for text in logged.seen:
            failures.add_note("server traceback:\n" + text)
        raise


def _refuses_someone(ctx: Any) -> bool:
    return bool(callers(ctx.operation.definition.raw["operationId"])[1])


SETTINGS = {
    "deadline": None,
    "derandomize": DERANDOMIZE,
    "database": None,
    "suppress_health_check": list(HealthCheck),
    "print_blob": False,
}


@schema.parametrize()
@hypothesis.settings(max_examples=MAX_EXAMPLES, **SETTINGS)
def test_api_admitted(
    case: schemathesis.Case,
    caller: str,
    fuzzed: Fuzzed,
    world: World,
    server_tracebacks: _Tracebacks,
) -> None:
    _call_and_check(case, caller, fuzzed, world, server_tracebacks, admitted=True)


@schema.include(_refuses_someone).parametrize()
@hypothesis.settings(max_examples=MAX_EXAMPLES_REFUSED, **SETTINGS)
def test_api_refused(
    case: schemathesis.Case,
    caller: str,
    fuzzed: Fuzzed,
    strangers: World,
    server_tracebacks: _Tracebacks,
) -> None:
    _call_and_check(case, caller, fuzzed, strangers, server_tracebacks, admitted=False)
