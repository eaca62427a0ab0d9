"""Sealing and verifying the audit chain.

The sequencer takes the committed events that have no place in the chain yet, in id order,
gives each the next `seq` and a link keyed by the audit key (HMAC-SHA256: whoever can write to
the database but does not hold the key cannot recompute a link), and signs a checkpoint — the
chain's length and head — with an Ed25519 key derived from the same secret. Checkpoints are
kept in the database, appended to a file on another volume and pushed to the supervision
platform, so deleting the chain's tail or re-chaining it after a deletion is found against any
copy the attacker could not reach. Only one sequencer runs at a time (a try-lock it alone
takes); requests never wait for it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core import signing
from core.canonical import canonical_json, digest
from core.db import utcnow
from core.models import AuditCheckpoint, AuditEvent

GENESIS_HASH = "0" * 64
# An arbitrary constant naming the sequencer's advisory lock (only sequencers take it).
SEALER_LOCK_KEY = 7_420_260_001
SEAL_BATCH = 5000


@dataclass(frozen=True)
class AuditKeys:
    """The link key and the checkpoint signing key, both derived from AUDIT_KEY."""

    link_key: bytes
    signing_private: bytes
    signing_public: bytes

    @classmethod
    def derive(cls, secret: bytes) -> AuditKeys:
        def hkdf(info: bytes) -> bytes:
            return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)

        seed = hkdf(b"hospital audit checkpoints")
        public = (
            Ed25519PrivateKey.from_private_bytes(seed)
            .public_key()
            .public_bytes(Encoding.Raw, PublicFormat.Raw)
        )
        return cls(hkdf(b"hospital audit links"), seed, public)

    @property
    def fingerprint(self) -> str:
        return signing.fingerprint(self.signing_public)


def link_hash(keys: AuditKeys, event: AuditEvent, seq: int, prev_hash: str) -> str:
    fields = {
        "seq": seq,
        "prev": prev_hash,
        "id": event.id,
        "at": event.occurred_at.isoformat(),
        "actor_id": event.actor_id,
        "actor_role": event.actor_role,
        "action": event.action,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "change": event.change_digest,
    }
    return hmac.new(keys.link_key, canonical_json(fields).encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    """What a checkpoint says, in the form kept outside the database (one JSON line each)."""

    tree_size: int
    head_hash: str
    signed_at: str
    key_fingerprint: str
    signature: str

    def statement(self) -> dict[str, object]:
        return {"tree_size": self.tree_size, "head": self.head_hash, "at": self.signed_at}

    def signature_holds(self, keys: AuditKeys) -> bool:
        return self.key_fingerprint == keys.fingerprint and signing.verify(
            keys.signing_public, self.statement(), self.signature
        )

    def to_line(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_line(cls, line: str) -> Checkpoint:
        data = json.loads(line)
        return cls(
            tree_size=int(data["tree_size"]),
            head_hash=str(data["head_hash"]),
            signed_at=str(data["signed_at"]),
            key_fingerprint=str(data["key_fingerprint"]),
            signature=str(data["signature"]),
        )

    @classmethod
    def of(cls, row: AuditCheckpoint) -> Checkpoint:
        return cls(
            row.tree_size,
            row.head_hash,
            row.signed_at.isoformat(),
            row.key_fingerprint,
            row.signature,
        )


def sign_checkpoint(keys: AuditKeys, tree_size: int, head_hash: str, at: dt.datetime) -> Checkpoint:
    unsigned = Checkpoint(tree_size, head_hash, at.isoformat(), keys.fingerprint, "")
    return replace(unsigned, signature=signing.sign(keys.signing_private, unsigned.statement()))


def _take_sealer_lock(session: Session) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite runs one writer at a time anyway
    return bool(
        session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SEALER_LOCK_KEY})
    )


def chain_head(session: Session) -> tuple[int, str]:
    row = session.execute(
        select(AuditEvent.seq, AuditEvent.chain_hash)
        .where(AuditEvent.seq.is_not(None))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    if row is None or row[0] is None:
        return 0, GENESIS_HASH
    return int(row[0]), str(row[1])


def seal(
    session: Session,
    keys: AuditKeys,
    *,
    push_every: dt.timedelta | None = None,
    batch_size: int = SEAL_BATCH,
) -> AuditCheckpoint | None:
    """Chain the committed events that wait, in id order, and sign a checkpoint of the new
    head. Returns None when another sequencer is at work or nothing waits. `push_every` marks
    the checkpoint for the supervision platform if the last one pushed is older than that."""
    if not _take_sealer_lock(session):
        return None
    pending = session.scalars(
        select(AuditEvent).where(AuditEvent.seq.is_(None)).order_by(AuditEvent.id).limit(batch_size)
    ).all()
    if not pending:
        return None
    seq, head = chain_head(session)
    for event in pending:
        seq += 1
        event.seq = seq
        event.prev_hash = head
        event.chain_hash = head = link_hash(keys, event, seq, head)
    now = utcnow()
    signed = sign_checkpoint(keys, seq, head, now)
    checkpoint = AuditCheckpoint(
        tree_size=seq,
        head_hash=head,
        signed_at=now,
        key_fingerprint=signed.key_fingerprint,
        signature=signed.signature,
        pushed=push_every is not None and _push_due(session, now, push_every),
    )
    session.add(checkpoint)
    session.flush()
    return checkpoint


def _push_due(session: Session, now: dt.datetime, every: dt.timedelta) -> bool:
    last = session.scalar(
        select(AuditCheckpoint.signed_at)
        .where(AuditCheckpoint.pushed.is_(True))
        .order_by(AuditCheckpoint.id.desc())
        .limit(1)
    )
    return last is None or now - last >= every


@dataclass(frozen=True)
class ChainReport:
    checked: int
    unsealed: int = 0
    checkpoints: int = 0
    broken_at: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


def verify_chain(
    session: Session,
    keys: AuditKeys,
    *,
    external: Iterable[Checkpoint] = (),
    seal_bound: dt.timedelta = dt.timedelta(seconds=30),
    batch_size: int = 1000,
) -> ChainReport:
    """Walk the sealed chain in order and hold it against every checkpoint (the database's and
    `external` ones, from the file or the supervision platform); events still unsealed are
    fine while younger than `seal_bound`. The report names the first thing that does not hold."""
    checkpoints = [Checkpoint.of(row) for row in session.scalars(select(AuditCheckpoint))]
    checkpoints.extend(external)
    for checkpoint in checkpoints:
        if not checkpoint.signature_holds(keys):
            return ChainReport(
                0, reason=f"checkpoint at {checkpoint.tree_size} has no valid signature"
            )
    wanted = {c.tree_size for c in checkpoints}
    heads: dict[int, str] = {}
    expected_prev, expected_seq, last_seq = GENESIS_HASH, 1, 0
    while True:
        batch = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.seq > last_seq)
            .order_by(AuditEvent.seq)
            .limit(batch_size)
        ).all()
        if not batch:
            break
        for event in batch:
            checked = expected_seq - 1
            if event.seq != expected_seq:
                return ChainReport(
                    checked, broken_at=event.id, reason="an event before it is missing"
                )
            if event.prev_hash != expected_prev:
                return ChainReport(
                    checked,
                    broken_at=event.id,
                    reason="previous link does not match (an event missing or moved)",
                )
            if event.change_digest != digest(event.detail):
                return ChainReport(
                    checked, broken_at=event.id, reason="detail does not match its digest"
                )
            if event.chain_hash != link_hash(keys, event, expected_seq, expected_prev):
                return ChainReport(
                    checked, broken_at=event.id, reason="event fields do not match its link"
                )
            if expected_seq in wanted:
                heads[expected_seq] = event.chain_hash
            expected_prev = event.chain_hash
            last_seq = expected_seq
            expected_seq += 1
    size = expected_seq - 1
    for checkpoint in sorted(checkpoints, key=lambda c: c.tree_size):
        if checkpoint.tree_size > size:
            return ChainReport(
                size,
                checkpoints=len(checkpoints),
                reason=(
                    f"truncated: the checkpoint of {checkpoint.signed_at} covers "
                    f"{checkpoint.tree_size} events, the trail holds {size}"
                ),
            )
        if heads.get(checkpoint.tree_size) != checkpoint.head_hash:
            return ChainReport(
                size,
                checkpoints=len(checkpoints),
                reason=(
                    f"re-chained: the trail's first {checkpoint.tree_size} events do not match "
                    f"the checkpoint of {checkpoint.signed_at}"
                ),
            )
    return _check_unsealed(session, size, len(checkpoints), seal_bound)


def _check_unsealed(
    session: Session, size: int, checkpoints: int, bound: dt.timedelta
) -> ChainReport:
    waiting = select(AuditEvent).where(AuditEvent.seq.is_(None))
    count = session.scalar(select(func.count()).select_from(waiting.subquery())) or 0
    oldest = session.scalars(waiting.order_by(AuditEvent.occurred_at).limit(1)).first()
    if oldest is not None and utcnow() - oldest.occurred_at > bound:
        waited = int((utcnow() - oldest.occurred_at).total_seconds())
        return ChainReport(
            size,
            count,
            checkpoints,
            broken_at=oldest.id,
            reason=f"unsealed for {waited} s (is the sequencer running?)",
        )
    return ChainReport(size, count, checkpoints)
