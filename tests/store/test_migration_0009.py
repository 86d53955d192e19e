"""Migration 0009 on both databases: events chained the old way (seq and hash on the event)
keep their place and hash in audit_seal, and `verify` walks them, through 0014 too (the
chain keyed: rows sealed before the key still verify, the next is keyed); it can be undone."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from app.store import audit_chain
from app.store.audit_key import AuditKeys
from app.store.migrate import alembic_config
from tests.store.test_migration_0008 import empty_url  # noqa: F401  (the fixture)

RECORDED = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
KEYS = AuditKeys((b"an-audit-key-for-the-migration-test",))


def test_events_chained_before_keep_their_place(empty_url: str) -> None:  # noqa: F811
    config = alembic_config(empty_url)
    command.upgrade(config, "0008")
    engine = create_engine(empty_url)
    try:
        previous = audit_chain.GENESIS
        with engine.begin() as conn:
            for seq in (1, 2, 3):
                record = {
                    "id": f"a{seq}", "recorded": RECORDED, "type_code": "rest",
                    "subtype": "read", "action": "R", "outcome": "0", "agent_kind": "client",
                    "agent_id": "c1",
                }  # fmt: skip
                previous = audit_chain.link(previous, seq, record, [])
                conn.execute(
                    text(
                        "INSERT INTO audit_event (id, recorded, type_code, subtype, action, "
                        "outcome, agent_kind, agent_id, seq, chain_hash) VALUES (:id, "
                        ":recorded, :type_code, :subtype, :action, :outcome, :agent_kind, "
                        ":agent_id, :seq, :hash)"
                    ),
                    {**record, "seq": seq, "hash": previous},
                )
        command.upgrade(config, "head")  # the seal's key_id column came with 0014
        with Session(engine) as session:
            report = audit_chain.verify(session)
            assert report.ok and report.checked == 3 and report.unchained == 0, report
            assert report.head_hash == previous
            # The next seal follows on from the migrated head.
            session.execute(
                text(
                    "INSERT INTO audit_event (id, recorded, type_code, subtype, action, "
                    "outcome, agent_kind, agent_id) VALUES ('a4', :at, 'rest', 'read', 'R', "
                    "'0', 'client', 'c1')"
                ),
                {"at": RECORDED},
            )
            assert audit_chain.seal(session, keys=KEYS) == 1
            session.commit()
            report = audit_chain.verify(session, KEYS)
            assert report.ok and report.checked == 4 and report.head_seq == 4, report
            assert report.keyed_from == 4
        command.downgrade(config, "0008")
    finally:
        engine.dispose()
