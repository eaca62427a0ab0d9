"""Property-based fuzzing of the JSON API against its own OpenAPI document (schemathesis).

Every operation in /api/v1/openapi.json is called with generated requests (valid and invalid),
once per relevant caller: each role the operation admits, a role it refuses, no token at all,
and for the partner callbacks a correctly signed request. Path parameters and body fields that
name a record (`consultation_id`, `prescription_id`, `team_id`...) are drawn half the time from
a small world seeded for each test (a patient with a visit, an approved prescription, a
pharmacy with stock and a kiosk, a family-doctor contract...), so that requests get past "not
found" into the views' real work.

Each response must not be a server error (5xx), and must conform to the document: a declared
status code, the declared content type, a body matching the declared schema. Each test
(operation x caller) runs inside the usual outer transaction, rolled back afterwards.

The budget is bounded: SCHEMATHESIS_MAX_EXAMPLES (default 25) generated requests per operation
for each admitted role, SCHEMATHESIS_MAX_EXAMPLES_REFUSED (default 5) for callers that are
refused at the door. Generation is derandomised (the same requests each run) unless
SCHEMATHESIS_RANDOM=1. The number of requests sent is printed at the end of the run.
"""

from __future__ import annotations

import json
import logging
import os
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, sessionmaker

from core import runtime
from identity.models import Dependent, Role
from identity.rules import PractitionerKind
from tests import factories
from tests.conftest import test_settings
from tests.helpers import bearer
from web.app import create_app
from web.platform_auth import sign

pytestmark = pytest.mark.postgresql

PLATFORM_SECRET = "schemathesis-platform-secret"  # noqa: S105 - test value
COURIER_SECRET = "schemathesis-courier-secret"  # noqa: S105 - test value

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))
MAX_EXAMPLES_REFUSED = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES_REFUSED", "5"))
DERANDOMIZE = os.environ.get("SCHEMATHESIS_RANDOM") != "1"

ANONYMOUS = "anonymous"
PARTNER = "partner"  # a correctly signed partner callback (platform or courier)
STAFF_ORDER = (
    Role.patient,
    Role.doctor,
    Role.pharmacist,
    Role.family_doctor,
    Role.kiosk,
    Role.admin,
)

# --- the document and who may call what ---------------------------------------------------


@dataclass(frozen=True)
class Access:
    """Who an operation admits, read from the views themselves."""

    public: bool
    roles: tuple[Role, ...]  # empty: any signed-in account
    partner: str | None  # "platform" / "courier" for signed callbacks


def _load() -> tuple[dict[str, Any], dict[str, Access]]:
    """The document as the app serves it, from an app built only for this (the runtime it
    installs is put back, so that collecting this module changes nothing for other tests)."""
    saved = getattr(runtime, "_runtime", None)
    built = create_app(test_settings())
    try:
        document = built.test_client().get("/api/v1/openapi.json").get_json()
        access = {}
        for endpoint, view in built.view_functions.items():
            spec = getattr(view, "openapi", None)
            if spec is None:
                continue
            access[endpoint] = Access(
                public=spec.public,
                roles=tuple(getattr(view, "required_roles", ()) or ()),
                partner=getattr(view, "signed_by", None),
            )
    finally:
        built.extensions["hospital.db"].dispose()
        runtime._runtime = saved  # type: ignore[attr-defined]
    return document, access


DOCUMENT, ACCESS = _load()


def callers_for(operation_id: str) -> list[tuple[str, bool]]:
    """(caller, admitted) for an operation: every admitted role, one refused role, anonymous."""
    access = ACCESS[operation_id]
    if access.partner:
        return [(PARTNER, True), (ANONYMOUS, False)]
    if access.public:
        return [(ANONYMOUS, True), (Role.patient.value, True)]
    if not access.roles:  # any signed-in account
        return [(role.value, True) for role in STAFF_ORDER] + [(ANONYMOUS, False)]
    admitted = [(role.value, True) for role in STAFF_ORDER if role in access.roles]
    refused = next(role for role in STAFF_ORDER if role not in access.roles)
    return [*admitted, (refused.value, False), (ANONYMOUS, False)]


schema = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=schemathesis.Config.from_dict(
        {"phases": {"examples": {"enabled": False}, "coverage": {"enabled": False}}}
    ),
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per operation and caller (schemathesis calls this for each operation)."""
    if "caller" not in metafunc.fixturenames:
        return
    from schemathesis.generation.hypothesis.builder import ApiOperationMark

    operation = ApiOperationMark.get(metafunc.definition.obj)
    assert operation is not None
    callers = callers_for(operation.definition.raw["operationId"])
    metafunc.parametrize(
        "caller",
        [pytest.param(c, id=("" if admitted else "refused-") + c) for c, admitted in callers],
    )


# --- the seeded world ---------------------------------------------------------------------


@dataclass
class World:
    headers: dict[str, dict[str, str]]
    # candidate values for path parameters and body fields, by name
    ids: dict[str, list[Any]] = field(default_factory=dict)


CURRENT: dict[str, World | None] = {"world": None}


def build_world(app: Flask, session: Session) -> World:
    patient = factories.verified_patient()
    assert patient.person is not None
    diagnosis = factories.diagnosis(patient.person)
    doctor = factories.practitioner()
    visit = factories.consultation(patient, diagnosis, doctor)
    pharmacist = factories.practitioner(kind=PractitionerKind.pharmacist, department="药剂科")
    family_doctor = factories.practitioner(kind=PractitionerKind.family_doctor, department="全科")
    admin = factories.account(Role.admin)
    child = factories.child_of(patient)
    dependent = session.scalar(select(Dependent).where(Dependent.person_id == child.id))
    assert dependent is not None
    headers = {
        Role.patient.value: bearer(session, account=patient),
        Role.doctor.value: bearer(session, account=doctor.account),
        Role.pharmacist.value: bearer(session, account=pharmacist.account),
        Role.family_doctor.value: bearer(session, account=family_doctor.account),
        Role.kiosk.value: bearer(session, Role.kiosk),
        Role.admin.value: bearer(session, account=admin),
        ANONYMOUS: {},
    }
    ids: dict[str, list[Any]] = {
        "consultation_id": [visit.id],
        "diagnosis_id": [diagnosis.id],
        "dependent_id": [dependent.id],
        "practitioner_id": [doctor.id, pharmacist.id],
        "seq": [1],
    }
    return World(headers, ids)


# --- generation hooks: known records half the time ----------------------------------------


def _known(name: str, value: Any) -> st.SearchStrategy[Any]:
    world = CURRENT["world"]
    if world is None or name not in world.ids:
        return st.just(value)
    return st.one_of(st.just(value), st.sampled_from(world.ids[name]))


@schema.hook
def flatmap_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    if not path_parameters:
        return st.just(path_parameters)
    return st.fixed_dictionaries({k: _known(k, v) for k, v in path_parameters.items()})


@schema.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
    if not isinstance(body, dict):
        return st.just(body)
    return st.fixed_dictionaries({k: _known(k, v) for k, v in body.items()})


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_app(app: Flask) -> Iterator[Flask]:
    """The app with the partner callbacks configured (the session's app has them off)."""
    saved = runtime.current()
    built = create_app(
        test_settings(PLATFORM_CALLBACK_SECRET=PLATFORM_SECRET, COURIER_CALLBACK_SECRET=COURIER_SECRET)
    )
    built_runtime = runtime.current()
    runtime.install(saved)
    built.extensions["schemathesis.runtime"] = built_runtime
    yield built
    built.extensions["hospital.db"].dispose()


@pytest.fixture
def world(fuzz_app: Flask, connection: Connection, session: Session) -> Iterator[World]:
    saved = runtime.current()
    runtime.install(fuzz_app.extensions["schemathesis.runtime"])
    database = fuzz_app.extensions["hospital.db"]
    original = database.sessionmaker
    database.sessionmaker = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        built = build_world(fuzz_app, session)
        CURRENT["world"] = built
        yield built
    finally:
        CURRENT["world"] = None
        database.sessionmaker = original
        runtime.install(saved)


# --- checks and the record of what they found ---------------------------------------------

ENFORCED = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
)

STATS: dict[str, Any] = {"cases": 0, "started": None, "by_status": Counter()}
FAILED_CHECKS: dict[str, set[str]] = defaultdict(set)


class _Tracebacks(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append("".join(traceback.format_exception(*record.exc_info)))


@pytest.fixture
def server_tracebacks() -> Iterator[_Tracebacks]:
    handler = _Tracebacks()
    logger = logging.getLogger("web.errors")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _sign_partner(case: schemathesis.Case, headers: dict[str, str]) -> dict[str, Any]:
    partner = ACCESS[case.operation.definition.raw["operationId"]].partner
    assert partner is not None
    kwargs = case.as_transport_kwargs()
    body = kwargs.get("data", b"")
    if isinstance(body, str):
        body = body.encode()
    timestamp = str(int(time.time()))
    secret = PLATFORM_SECRET if partner == "platform" else COURIER_SECRET
    prefix = f"X-{partner.capitalize()}"
    headers[f"{prefix}-Timestamp"] = timestamp
    headers[f"{prefix}-Signature"] = sign(secret, timestamp, body)
    return headers


@schema.parametrize()
@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=DERANDOMIZE,
    database=None,
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)
def test_api_conforms_to_its_document(
    case: schemathesis.Case,
    caller: str,
    fuzz_app: Flask,
    world: World,
    server_tracebacks: _Tracebacks,
) -> None:
    STATS["cases"] += 1
    headers = dict(world.headers.get(caller, {}))
    if caller == PARTNER:
        headers = _sign_partner(case, headers)
    server_tracebacks.records.clear()
    response = case.call(app=fuzz_app, headers=headers)
    STATS["by_status"][response.status_code] += 1
    if response.status_code >= 500 and server_tracebacks.records:
        case_label = f"{case.operation.label} as {caller}"
        pytest.fail(
            f"{case_label}: {response.status_code}\n{case.as_curl_command(headers=headers)}\n"
            + server_tracebacks.records[-1]
        )
    case.validate_response(response, checks=list(ENFORCED), headers=headers)
