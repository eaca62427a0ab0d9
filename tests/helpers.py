"""Small helpers the tests share: tokens for the API, signing in through the real form."""

from __future__ import annotations

import hashlib
import hmac
import re

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core import audit_chain, runtime
from core.audit_chain import AuditKeys, ChainReport
from identity import services
from identity.models import Account, Role
from tests import factories


def bearer(session: Session, role: Role = Role.patient, account: Account | None = None) -> dict:
    account = account or factories.account(role)
    token = services.issue_token(session, account, 3600).token
    return {"Authorization": f"Bearer {token}"}


def csrf_token(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: FlaskClient, username: str, password: str = factories.PASSWORD) -> object:
    token = csrf_token(client, "/sign-in")
    return client.post(
        "/sign-in", data={"username": username, "password": password, "csrf_token": token}
    )


def audit_keys() -> AuditKeys:
    return AuditKeys.derive(runtime.current().settings.audit_key)


def seal_and_verify(session: Session) -> ChainReport:
    """Seal what the test wrote (as the sequencer would) and verify the whole chain."""
    while audit_chain.seal(session, audit_keys()) is not None:
        pass
    return audit_chain.verify_chain(session, audit_keys())


def trace_codes(n: int = 1) -> list[str]:
    """Fresh 药品追溯码 for `n` boxes (20 digits, never used before in this run)."""
    import secrets

    return [f"8{secrets.randbelow(10**19):019d}" for _ in range(n)]


def partner_signature(secret: str, timestamp: str, body: bytes) -> str:
    """A partner's callback signature as the partner computes it from the interface's
    description (HMAC-SHA256 in hex over "timestamp.body") — written here, not taken from the
    app, so a signer that ignored the body or the time would fail the tests."""
    mac = hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)
    mac.update(timestamp.encode("ascii") + b".")
    mac.update(body)
    return mac.hexdigest()
