"""Tables. Resources are kept as received (plus server id/meta); coded events sit beside them
in indexed columns shaped for the rule engine's queries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.store.base import PK, Base, JsonList, UtcDateTime


class Resource(Base):
    """The current version of every stored FHIR resource."""

    __tablename__ = "resource"
    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(40))
    id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    last_updated: Mapped[datetime] = mapped_column(UtcDateTime())
    sort_date: Mapped[datetime | None] = mapped_column(UtcDateTime())
    patient_id: Mapped[str | None] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("type", "id", name="uq_resource_type_id"),
        Index("ix_resource_type_updated", "type", "last_updated"),
        Index("ix_resource_type_sort", "type", "sort_date"),
        Index("ix_resource_patient", "patient_id", "type"),
    )


class ResourceVersion(Base):
    """Every version ever stored, current included, for vread and _history."""

    __tablename__ = "resource_version"
    type: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_updated: Mapped[datetime] = mapped_column(UtcDateTime())
    method: Mapped[str] = mapped_column(String(8))
    content: Mapped[str] = mapped_column(Text)


class SearchIndex(Base):
    """One row per search value of a current resource. token: system+code; string: code holds
    the folded text; reference: code holds 'Type/id'; date: date_lo..date_hi."""

    __tablename__ = "search_index"
    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    resource_pk: Mapped[int] = mapped_column(
        ForeignKey("resource.pk", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(40))
    param: Mapped[str] = mapped_column(String(40))
    system: Mapped[str | None] = mapped_column(String(255))
    code: Mapped[str | None] = mapped_column(String(255))
    date_lo: Mapped[datetime | None] = mapped_column(UtcDateTime())
    date_hi: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ix_search_code", "type", "param", "code", "system"),
        Index("ix_search_date", "type", "param", "date_lo"),
    )


class CodedEvent(Base):
    """An appointment outcome coded for safeguarding: one per Patient of an Appointment or
    coded Observation (a mother and baby at one check are two events)."""

    __tablename__ = "coded_event"
    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    resource_pk: Mapped[int] = mapped_column(ForeignKey("resource.pk", ondelete="CASCADE"))
    resource_type: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str] = mapped_column(String(64))
    child_id: Mapped[str] = mapped_column(String(64))
    event_at: Mapped[datetime] = mapped_column(UtcDateTime())
    category: Mapped[str] = mapped_column(String(32))
    outcome_system: Mapped[str] = mapped_column(String(255))
    outcome_code: Mapped[str] = mapped_column(String(64))
    is_child: Mapped[bool] = mapped_column(Boolean)
    age_days: Mapped[int | None] = mapped_column(Integer)
    service_system: Mapped[str | None] = mapped_column(String(255))
    service_code: Mapped[str | None] = mapped_column(String(128))  # as the source sent it
    service_display: Mapped[str | None] = mapped_column(String(255))
    # The normalised service key the rules compare (app/fhir/service_key.py).
    service_key: Mapped[str | None] = mapped_column(String(128))
    organisation: Mapped[str | None] = mapped_column(String(255))
    # The source's display for it: read only when no Organization resource names the code.
    organisation_name: Mapped[str | None] = mapped_column(String(255))
    source_system: Mapped[str | None] = mapped_column(String(255))
    original_codes: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # When the appointment was booked (Appointment.created, else when first stored): a
    # rebooking counts from when it was made, not from the date it is for.
    booked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # 0 for a full birth date; else how many days older than age_days the child may be.
    age_uncertain_days: Mapped[int] = mapped_column(Integer, server_default="0")

    __table_args__ = (
        UniqueConstraint("resource_pk", "child_id", name="uq_event_resource_child"),
        Index("ix_event_child_at", "child_id", "event_at"),
        Index("ix_event_category_at", "category", "event_at"),
        # Flags name their evidence as "Appointment/id": looked up on every flag raised.
        Index("ix_event_resource", "resource_id", "resource_type"),
    )


class IdentityKey(Base):
    """The identifiers that make two posts the same resource: unique, so two concurrent posts
    of one appointment cannot both create it (the loser retries and updates instead)."""

    __tablename__ = "identity_key"
    type: Mapped[str] = mapped_column(String(40), primary_key=True)
    system: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True)
    scope: Mapped[str] = mapped_column(String(80), primary_key=True)
    resource_pk: Mapped[int] = mapped_column(
        ForeignKey("resource.pk", ondelete="CASCADE"), index=True
    )


class AuditRecord(Base):
    """One FHIR AuditEvent: who did what to which records, and how it ended. Append-only."""

    __tablename__ = "audit_event"
    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    recorded: Mapped[datetime] = mapped_column(UtcDateTime())
    type_code: Mapped[str] = mapped_column(String(32))
    subtype: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(1))
    outcome: Mapped[str] = mapped_column(String(2))
    outcome_desc: Mapped[str | None] = mapped_column(String(255))
    agent_kind: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[str] = mapped_column(String(100))
    agent_name: Mapped[str | None] = mapped_column(String(200))
    agent_role: Mapped[str | None] = mapped_column(String(32))
    resource_type: Mapped[str | None] = mapped_column(String(40))
    query: Mapped[str | None] = mapped_column(Text)
    # Where the hash chain was kept until revision 0009 (now audit_seal); no longer written.
    seq: Mapped[int | None] = mapped_column(BigInteger)
    chain_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_recorded", "recorded"),
        Index("ix_audit_agent", "agent_id", "recorded"),
        Index("ix_audit_type", "subtype", "recorded"),
        Index("ix_audit_seq", "seq", unique=True),
    )


class AuditEntity(Base):
    """The records (Type/id) an audit event touched: `AuditEvent?entity=` and, for Patient/...,
    `AuditEvent?patient=`."""

    __tablename__ = "audit_entity"
    audit_pk: Mapped[int] = mapped_column(
        ForeignKey("audit_event.pk", ondelete="CASCADE"), primary_key=True
    )
    reference: Mapped[str] = mapped_column(String(120), primary_key=True)

    __table_args__ = (Index("ix_audit_entity", "reference", "audit_pk"),)


class Family(Base):
    """A family: children linked by a shared carer or household. Its row is locked while a
    family event is evaluated, so siblings' events are judged one after another."""

    __tablename__ = "family"
    family_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class FamilyMember(Base):
    """Which family each patient belongs to (every patient has one, alone at first)."""

    __tablename__ = "family_member"
    patient_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[str] = mapped_column(ForeignKey("family.family_id"), index=True)


class FamilyLink(Base):
    """What ties a patient to others: `carer:system|value` (a RelatedPerson identifier) or
    `group:id` (a household Group). Patients sharing a key are one family."""

    __tablename__ = "family_link"
    link_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(120))  # the resource that made the link

    __table_args__ = (
        Index("ix_family_link_patient", "patient_id"),
        Index("ix_family_link_source", "source"),
    )


class SafeguardingStatus(Base):
    """A child's CP plan, looked-after or child-in-need status, from a Flag sent in."""

    __tablename__ = "safeguarding_status"
    resource_pk: Mapped[int] = mapped_column(
        ForeignKey("resource.pk", ondelete="CASCADE"), primary_key=True
    )
    child_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(32))
    start: Mapped[datetime | None] = mapped_column(UtcDateTime())
    end: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # False: the Flag gave no start, and `start` is when the service first learned of it.
    start_stated: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class RaisedFlag(Base):
    """A concern this service raised for one child: its reasons (the rules that hold for the
    child now) with their evidence, for the worklist. Its FHIR Flag lives in `resource`
    (id = flag_id). `rule_id` is the same for every concern (`flags.CONCERN`); rows written
    before concerns (one per rule) keep their rule there and one reason."""

    __tablename__ = "raised_flag"
    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    flag_id: Mapped[str] = mapped_column(String(64), unique=True)
    rule_id: Mapped[str] = mapped_column(String(64))
    rule_version: Mapped[int] = mapped_column(Integer)
    child_id: Mapped[str] = mapped_column(String(64))
    family_id: Mapped[str] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(16))
    # open | acknowledged | evidence-changed (still open) | closed | withdrawn (by the service)
    state: Mapped[str] = mapped_column(String(16))
    is_open: Mapped[bool] = mapped_column(Boolean)
    description: Mapped[str] = mapped_column(String(500))
    agencies: Mapped[str] = mapped_column(String(255))
    evidence_events: Mapped[list[str]] = mapped_column(JsonList)  # event resource refs
    family_children: Mapped[list[str]] = mapped_column(
        JsonList
    )  # JSON list of Patient ids involved
    organisation: Mapped[str | None] = mapped_column(String(255))
    age_days: Mapped[int | None] = mapped_column(Integer)
    first_event_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_event_at: Mapped[datetime] = mapped_column(UtcDateTime())
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    outcome: Mapped[str | None] = mapped_column(String(64))
    # A person has reviewed it: when its rule stops holding it waits for a nurse, never
    # withdrawn by the service.
    reviewed: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # The child's age was decided from a partial birth date (on the side of the child).
    age_uncertain: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # JSON list of the reasons: rule, version, priority, summary, agencies, events, children.
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JsonList, server_default=text("'[]'"))
    # The reasons' rule ids, space-separated with a space at each end: `LIKE '% rule %'`.
    reason_rules: Mapped[str] = mapped_column(String(1000), server_default=text("' '"))

    __table_args__ = (
        # At most one open concern per child (`rule_id` is the same for all): new evidence
        # updates it.
        Index(
            "uq_raised_flag_open",
            "rule_id",
            "child_id",
            unique=True,
            postgresql_where=text("is_open"),
            sqlite_where=text("is_open"),
        ),
        Index("ix_raised_flag_worklist", "is_open", "priority", "opened_at"),
        Index("ix_raised_flag_child", "child_id", "opened_at"),
        Index("ix_raised_flag_family", "family_id", "opened_at"),
    )


class FlagReview(Base):
    """Every change a person or client made to a raised flag: who, when, what, why."""

    __tablename__ = "flag_review"
    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    flag_pk: Mapped[int] = mapped_column(ForeignKey("raised_flag.pk"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    by_kind: Mapped[str] = mapped_column(String(16))
    by_id: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))  # acknowledge | note | outcome | close
    outcome: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    flag_version: Mapped[int] = mapped_column(Integer)


# Clients and users, reconciliation's marks and merged records, agencies, subscriptions and
# the webhook outbox live in modules of their own; imported here so that `Base.metadata`
# (migrations, tests) always holds them.
from app.store import (  # noqa: E402, F401
    audit_chain_models,
    auth_models,
    case_models,
    hl7_models,
    import_models,
    reconcile_models,
    webhook_models,
)
