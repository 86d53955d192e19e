"""one concern per child (issue 18): `raised_flag` rows become concerns with reasons

Per child, the open per-rule flags fold into one open concern: the earliest opened row
survives, the others' reviews move to it (so they appear in the concern's history) and their
areas with them, their FHIR Flags get a last version marked inactive (kept, never deleted),
and their rows go. Closed per-rule rows stay as closed concerns of one reason each. The rules
fingerprint is forgotten, so the worker re-judges every child at its next start and writes
each surviving concern's Flag in the concern shape.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 19:40:00
"""

import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

CONCERN = "wnb-concern"
RANK = {"high": 0, "medium": 1, "low": 2}
# The state a folded concern takes: the one that most needs a nurse.
STATE_RANK = {"open": 0, "evidence-changed": 1, "acknowledged": 2}


def upgrade() -> None:
    with op.batch_alter_table("raised_flag") as batch:
        batch.add_column(sa.Column("reasons", sa.Text(), server_default="[]", nullable=False))
        batch.add_column(
            sa.Column("reason_rules", sa.String(1000), server_default=" ", nullable=False)
        )
    bind = op.get_bind()
    now = datetime.now(UTC)
    rows = bind.execute(sa.text("SELECT * FROM raised_flag ORDER BY pk")).mappings().all()
    open_by_child: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        if row["is_open"]:
            open_by_child[row["child_id"]].append(row)
        else:
            _set(bind, row["pk"], _folded([row], row))
    for group in open_by_child.values():
        group.sort(key=lambda r: (_utc(r["opened_at"]), r["pk"]))
        survivor, others = group[0], group[1:]
        for other in others:
            bind.execute(
                sa.text("UPDATE flag_review SET flag_pk = :s WHERE flag_pk = :o"),
                {"s": survivor["pk"], "o": other["pk"]},
            )
            _move_areas(bind, other["flag_id"], survivor["flag_id"])
            _retire_flag(bind, other["flag_id"], now)
            bind.execute(sa.text("DELETE FROM raised_flag WHERE pk = :o"), {"o": other["pk"]})
        _set(bind, survivor["pk"], _folded(group, survivor))
    bind.execute(sa.text("DELETE FROM service_state WHERE key = 'rules-fingerprint'"))


def downgrade() -> None:
    with op.batch_alter_table("raised_flag") as batch:
        batch.drop_column("reason_rules")
        batch.drop_column("reasons")


def _utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _folded(group: list[Any], survivor: Any) -> dict[str, Any]:
    reasons = sorted(
        (
            {
                "rule": r["rule_id"],
                "version": r["rule_version"],
                "priority": r["priority"],
                "summary": r["description"],
                "agencies": sorted(r["agencies"].split()),
                "events": sorted(json.loads(r["evidence_events"])),
                "children": sorted(json.loads(r["family_children"])),
                "age_uncertain": bool(r["age_uncertain"]),
            }
            for r in group
        ),
        key=lambda r: (RANK.get(r["priority"], 9), r["rule"]),
    )
    events = sorted({e for r in reasons for e in r["events"]})
    outcomes = [r["outcome"] for r in group if r["outcome"]]
    return {
        "rule_id": CONCERN,
        # Not the concern format the service writes (1): the next re-judgement writes the
        # concern's Flag again in the concern shape.
        "rule_version": 0,
        "priority": reasons[0]["priority"],
        "description": "; ".join(r["summary"] for r in reasons)[:500],
        "agencies": " ".join(sorted({a for r in reasons for a in r["agencies"]}))[:255],
        "evidence_events": json.dumps(events, separators=(",", ":")),
        "family_children": json.dumps(
            sorted({c for r in reasons for c in r["children"]}), separators=(",", ":")
        ),
        "reasons": json.dumps(reasons, separators=(",", ":")),
        "reason_rules": f" {' '.join(sorted(r['rule'] for r in reasons))} ",
        "state": min((r["state"] for r in group), key=lambda s: STATE_RANK.get(s, 0))
        if survivor["is_open"]
        else survivor["state"],
        "reviewed": any(bool(r["reviewed"]) for r in group),
        "outcome": survivor["outcome"] or (outcomes[0] if outcomes else None),
        "age_uncertain": any(bool(r["age_uncertain"]) for r in group),
        "first_event_at": min(_utc(r["first_event_at"]) for r in group),
        "last_event_at": max(_utc(r["last_event_at"]) for r in group),
    }


def _when(bind: Any, moment: datetime) -> Any:
    """A moment as the UTC columns store it (SQLite: naive UTC text, as SQLAlchemy writes)."""
    if bind.dialect.name == "sqlite":
        return moment.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return moment


def _set(bind: Any, pk: int, values: dict[str, Any]) -> None:
    values = {k: _when(bind, v) if isinstance(v, datetime) else v for k, v in values.items()}
    names = ", ".join(f"{k} = :{k}" for k in values)
    bind.execute(sa.text(f"UPDATE raised_flag SET {names} WHERE pk = :pk"), {**values, "pk": pk})


def _move_areas(bind: Any, old: str, new: str) -> None:
    have = {
        a
        for (a,) in bind.execute(
            sa.text("SELECT area FROM flag_area WHERE flag_id = :f"), {"f": new}
        )
    }
    for (area,) in bind.execute(
        sa.text("SELECT area FROM flag_area WHERE flag_id = :f"), {"f": old}
    ).all():
        if area not in have:
            bind.execute(
                sa.text("INSERT INTO flag_area (flag_id, area) VALUES (:f, :a)"),
                {"f": new, "a": area},
            )


def _retire_flag(bind: Any, flag_id: str, now: datetime) -> None:
    """A last version of a folded per-rule Flag: inactive, its period ended, saying where it
    went. The resource and its history stay."""
    row = bind.execute(
        sa.text("SELECT pk, version, content FROM resource WHERE type = 'Flag' AND id = :i"),
        {"i": flag_id},
    ).first()
    if row is None:
        return
    pk, version, content = row
    data = json.loads(content)
    version += 1
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    data["status"] = "inactive"
    data.setdefault("period", {})["end"] = stamp
    data["meta"] = {"versionId": str(version), "lastUpdated": stamp}
    body = json.dumps(data, separators=(",", ":"))
    bind.execute(
        sa.text("UPDATE resource SET version = :v, content = :c, last_updated = :t WHERE pk = :pk"),
        {"v": version, "c": body, "t": _when(bind, now), "pk": pk},
    )
    bind.execute(
        sa.text(
            "INSERT INTO resource_version (type, id, version, last_updated, method, content) "
            "VALUES ('Flag', :i, :v, :t, 'PUT', :c)"
        ),
        {"i": flag_id, "v": version, "t": _when(bind, now), "c": body},
    )
    bind.execute(
        sa.text(
            "UPDATE search_index SET code = 'inactive' WHERE resource_pk = :pk AND param = 'status'"
        ),
        {"pk": pk},
    )
