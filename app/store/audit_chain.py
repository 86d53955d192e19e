"""The audit trail as a hash chain. Each AuditEvent is sealed after it commits: an
`audit_seal` row gives it `seq` (1, 2, 3, ... with no gaps) and `chain_hash` = SHA-256 of the
previous seal's hash, its own seq and the event's content (every column and the records it
names). Changing an event breaks its hash; removing one leaves a gap in seq; swapping two
breaks both. One sealer at a time (PostgreSQL: a transaction-scoped advisory lock only
sealers take; SQLite: its single writer), so the chain never forks.

Sealing apart from the write is what lets writers run side by side: linking each event as it
was written made every audited request wait its turn from the audit insert to its commit.
Until it is sealed (the worker seals every few seconds) an event is protected by the
database's append-only triggers alone; `wnb audit verify` counts those waiting.

Keyed (issue 20): with an audit key (audit_key) each seal is an HMAC-SHA256 under it, and
the seal names the key's id; rows sealed before keys existed stay plain SHA-256 and still
verify, and the first keyed seal covers the plain head, so the plain stretch cannot be
rewritten either. Once a row is keyed, a plain row after it is a break: re-hashing forward
without the key cannot pass. What a chain cannot show by itself is the loss of its newest
rows, or all of its keyed rows turned back into plain ones: `wnb audit anchor` notes the head
(seq and hash) somewhere the database's owner cannot reach, and `verify` checks the anchors."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.store.audit_chain_models import AuditSeal
from app.store.audit_key import AuditKeys
from app.store.bulk import insert_rows
from app.store.models import AuditEntity, AuditRecord

GENESIS = "0" * 64
LOCK_KEY = 0x77_6E_62_61_75_64  # "wnbaud": any fixed number no other lock uses
CONTENT = (
    "id", "recorded", "type_code", "subtype", "action", "outcome", "outcome_desc",
    "agent_kind", "agent_id", "agent_name", "agent_role", "resource_type", "query",
)  # fmt: skip
BATCH = 1000
# Events commit out of pk order (a long transaction), so each pass looks back this many
# events behind the newest sealed one; `seal(..., everything=True)` looks at the whole trail.
LOOK_BACK = 10_000


class KeyMissing(RuntimeError):
    """The chain is keyed and this process holds no key: sealing plain rows after keyed ones
    would break it, so nothing is sealed (the append-only triggers still protect the rows)."""


def link(
    previous: str,
    seq: int,
    record: dict[str, Any],
    references: list[str],
    key: bytes | None = None,
) -> str:
    """The chain hash of a row: pure, so `verify` recomputes exactly what `seal` wrote. With a
    key it is an HMAC-SHA256 under it; without, plain SHA-256 (rows sealed before keys)."""
    content = {k: _plain(record.get(k)) for k in CONTENT}
    body = orjson.dumps([previous, seq, content, sorted(references)], option=orjson.OPT_SORT_KEYS)
    if key is None:
        return hashlib.sha256(body).hexdigest()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def seal(
    session: Session,
    limit: int = BATCH,
    everything: bool = False,
    keys: AuditKeys | None = None,
) -> int:
    """Link up to `limit` committed, unsealed events into the chain, oldest first, under the
    current key if there is one; returns how many. Holds the sealers' lock until commit.
    Raises KeyMissing when the chain is keyed and `keys` holds none."""
    current = (keys or AuditKeys()).current
    if session.connection().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    head = session.execute(
        select(AuditSeal.seq, AuditSeal.chain_hash, AuditSeal.audit_pk, AuditSeal.key_id)
        .order_by(AuditSeal.seq.desc())
        .limit(1)
    ).first()
    seq, previous, newest = (0, GENESIS, 0) if head is None else (head[0], head[1], head[2])
    if head is not None and head[3] is not None and current is None:
        raise KeyMissing(
            f"the audit chain is keyed from before seq {seq + 1}: set WNB_AUDIT_KEY (or "
            "WNB_AUDIT_KEY_FILE) to go on sealing"
        )
    kid, key = current if current is not None else (None, None)
    low = 0 if everything else max(newest - LOOK_BACK, 0)
    rows = session.scalars(
        select(AuditRecord)
        .where(
            AuditRecord.pk > low,
            ~select(AuditSeal.seq).where(AuditSeal.audit_pk == AuditRecord.pk).exists(),
        )
        .order_by(AuditRecord.pk)
        .limit(limit)
    ).all()
    if not rows:
        return 0
    refs = _references(session, [r.pk for r in rows])
    seals = []
    for row in rows:
        seq += 1
        record = {k: getattr(row, k) for k in CONTENT}
        previous = link(previous, seq, record, refs[row.pk], key)
        seals.append({"seq": seq, "audit_pk": row.pk, "chain_hash": previous, "key_id": kid})
    insert_rows(session, AuditSeal.__table__, seals)
    return len(seals)


@dataclass(frozen=True)
class ChainReport:
    checked: int  # chained rows verified
    unchained: int  # events not sealed yet (the sealer runs every few seconds)
    head_seq: int
    head_hash: str
    problem: str | None  # the first row altered, removed or reordered
    keyed_from: int | None = None  # the first seq sealed with a key; None: no keyed row

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify(
    session: Session, keys: AuditKeys | None = None, anchors: dict[int, str] | None = None
) -> ChainReport:
    """Walk the chain in seq order and report the first break: a row altered, removed or
    reordered, a plain row after a keyed one, a keyed row whose key is not held, or a row
    that differs from an anchor (`anchors`: seq to the hash noted outside the database)."""
    keys = keys or AuditKeys()
    anchors = anchors or {}
    sealed = select(AuditSeal.seq).where(AuditSeal.audit_pk == AuditRecord.pk).exists()
    unchained = session.scalar(
        select(func.count()).select_from(AuditRecord).where(~sealed)
    ) or 0
    previous, expected_seq, checked = GENESIS, 1, 0
    keyed_from: int | None = None
    for seq, chain_hash, kid, row, references in _rows(session):
        where = f"seq {seq} (AuditEvent/{row.id}, pk {row.pk})"
        problem = None
        key = None if kid is None else keys.by_id(kid)
        if seq > expected_seq:
            problem = f"seq {expected_seq} to {seq - 1} removed (the chain jumps to {where})"
        elif kid is None and keyed_from is not None:
            problem = (
                f"{where} is not keyed but seq {keyed_from} onward were: re-hashed without "
                "the key"
            )
        elif kid is not None and key is None:
            problem = (
                f"{where} was sealed with key id {kid}, which this process does not hold "
                "(set WNB_AUDIT_KEY, or list every key in WNB_AUDIT_KEY_FILE)"
            )
        else:
            record = {k: getattr(row, k) for k in CONTENT}
            if link(previous, seq, record, references, key) != chain_hash:
                problem = f"{where} altered, or moved from its place"
            elif seq in anchors and anchors[seq] != chain_hash:
                problem = f"{where} differs from its anchor: the chain was rebuilt"
        if problem is not None:
            return ChainReport(checked, unchained, expected_seq - 1, previous, problem, keyed_from)
        if kid is not None and keyed_from is None:
            keyed_from = seq
        previous, expected_seq, checked = chain_hash, expected_seq + 1, checked + 1
    beyond = [seq for seq in anchors if seq >= expected_seq]
    problem = None
    if beyond:
        problem = (
            f"the chain ends at seq {expected_seq - 1} but an anchor holds seq {max(beyond)}: "
            "its newest rows were removed"
        )
    return ChainReport(checked, unchained, expected_seq - 1, previous, problem, keyed_from)


def _rows(session: Session) -> Iterator[tuple[int, str, str | None, AuditRecord, list[str]]]:
    after = 0
    while True:
        rows = session.execute(
            select(AuditSeal.seq, AuditSeal.chain_hash, AuditSeal.key_id, AuditRecord)
            .join(AuditRecord, AuditRecord.pk == AuditSeal.audit_pk)
            .where(AuditSeal.seq > after)
            .order_by(AuditSeal.seq)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        refs = _references(session, [r.pk for _, _, _, r in rows])
        for seq, chain_hash, kid, record in rows:
            yield seq, chain_hash, kid, record, refs[record.pk]
        after = rows[-1][0]


def _references(session: Session, pks: list[int]) -> dict[int, list[str]]:
    refs: dict[int, list[str]] = {pk: [] for pk in pks}
    for pk, ref in session.execute(
        select(AuditEntity.audit_pk, AuditEntity.reference).where(AuditEntity.audit_pk.in_(pks))
    ):
        refs[pk].append(ref)
    return refs


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value
