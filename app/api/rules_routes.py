"""POST /api/rules/backtest: what a new or changed rule file would have flagged in the stored
history, against the rules in force. Admin only; read-only apart from its audit record."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from app.api.audited import audited
from app.api.openapi_docs import fhir_responses
from app.api.security import require
from app.api.state import PrincipalDep, StateDep
from app.api.yaml_nesting import MAX_YAML_DEPTH, yaml_too_deep
from app.fhir.errors import FhirError, Issue
from app.fhir.parse import load_json
from app.rules import RuleFileError, RuleSet
from app.services.access.audit import AuditNote
from app.services.common.answer import Answer
from app.services.concerns import backtest, backtest_report

RULES_BODY_LIMIT = 1024 * 1024  # the shipped rule file is 6 KB
YAML_TYPES = ("application/yaml", "text/yaml", "application/x-yaml", "text/x-yaml")
JSON_TYPES = ("application/json",)
DEFAULT_LIMIT = 1000

router = APIRouter(prefix="/api")


class BacktestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules_yaml: str = Field(description="A rule file, as in rules/*.yaml")
    since: date | None = Field(default=None, description="Report firings from this day (UTC)")
    limit: int = Field(default=DEFAULT_LIMIT, ge=0, le=100_000, description="Firings listed")


class InForce(BaseModel):
    version: int
    firings: int
    children: int


class RuleCountOut(BaseModel):
    rule_id: str
    version: int
    enabled: bool
    firings: int = Field(description="Firings, one per child flagged")
    children: int
    in_force: InForce | None = Field(description="The rule of this id in force; null: new")


class TriggerOut(BaseModel):
    event: str
    at: str


class FiringOut(BaseModel):
    rule_id: str
    rule_version: int
    patient: str
    at: str = Field(description="When the flag would have been raised")
    trigger: TriggerOut
    evidence: list[str]
    description: str
    priority: str


class PairOut(BaseModel):
    rule_id: str
    patient: str


class DiffOut(BaseModel):
    added: list[PairOut]
    removed: list[PairOut]
    kept: int


class ConcernWeekOut(BaseModel):
    week: str = Field(description="ISO week of the firings (2026-W23)")
    raised: int = Field(description="Concerns (one per child) the file would have raised")
    reasons_added: int = Field(description="Reasons it would have added to concerns raised")


class BacktestOut(BaseModel):
    since: str | None
    now: str
    judged_with: Literal["current-facts"] = Field(
        description="Every event is judged with the statuses, family links and merged "
        "records known today (as live reconciliation judges them), not those known when "
        "the event arrived."
    )
    families: int
    events: int
    rules: list[RuleCountOut]
    firings_total: int
    concerns: int = Field(description="Children the file would give a concern (one each)")
    concerns_per_week: list[ConcernWeekOut] = Field(description="The nurses' weekly workload")
    truncated: bool
    firings: list[FiringOut]
    diff: DiffOut


@router.post(
    "/rules/backtest",
    tags=["Rules"],
    summary="Backtest a rule file against the stored history (admin)",
    description="Send a rule file (application/yaml or text/yaml; `since` and `limit` as "
    "query parameters) or JSON `{rules_yaml, since, limit}`. Each rule is replayed over "
    "every family's history and compared, by (rule, child), with the rule of the same id in "
    "force. Nothing is raised or written except the audit record. A rule file that does not "
    "load is a 422 whose diagnostics name the file, the rule and the field.",
    response_model=BacktestOut,
    responses=fhir_responses(400, 401, 403, 413, 415, 422, 429),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": BacktestRequest.model_json_schema()},
                **{t: {"schema": {"type": "string"}} for t in YAML_TYPES[:2]},
            },
        }
    },
)
async def post_backtest(request: Request, state: StateDep, who: PrincipalDep) -> dict[str, Any]:
    note = AuditNote("operation", None, query="rules/backtest")
    # No role but admin holds a scope on every resource type: "Rule" is no FHIR type.
    await require(state, who, "Rule", "search", note)
    try:
        ask = _request(request, _media(request), await _body(request))
        note.query = f"rules/backtest since={ask.since or ''}"
        rules = await run_in_threadpool(_load, ask.rules_yaml)
        since = datetime.combine(ask.since, datetime.min.time(), UTC) if ask.since else None
        now = state.clock()
        # A read session: on SQLite a write transaction would hold the writer lock for the
        # whole replay. The audit record commits after, before the answer leaves.
        report = await run_in_threadpool(
            state.read, lambda s: backtest.run(s, rules, state.rules, since, now)
        )
    except FhirError as exc:
        await run_in_threadpool(state.refused, who, note, exc)
        raise
    body = backtest_report.as_json(report, ask.limit)
    refs = report.patient_refs(ask.limit)
    return await audited(state, who, note, (), lambda _: Answer(body, refs))


def _load(text: str) -> RuleSet:
    line = yaml_too_deep(text)
    if line is not None:
        raise FhirError.one(
            422,
            "too-costly",
            f"{backtest.POSTED_NAME}: line {line}: the rule file nests deeper than "
            f"{MAX_YAML_DEPTH} mappings and lists.",
            "rules_yaml",
        )
    try:
        return backtest.load_posted(text)
    except RuleFileError as exc:
        raise FhirError.one(422, "invalid", str(exc), "rules_yaml") from exc


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > RULES_BODY_LIMIT:
        raise _too_large()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > RULES_BODY_LIMIT:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large() -> FhirError:
    return FhirError.one(
        413, "too-costly", f"A rule file may be at most {RULES_BODY_LIMIT} bytes.", "body"
    )


def _media(request: Request) -> str:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in YAML_TYPES + JSON_TYPES:
        raise FhirError.one(
            415,
            "not-supported",
            f"Content-Type {media or '(none)'!r} is not supported; send application/yaml "
            "(the rule file) or application/json ({rules_yaml, since, limit}).",
            "Content-Type",
        )
    return media


def _request(request: Request, media: str, body: bytes) -> BacktestRequest:
    if media in YAML_TYPES:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FhirError.one(400, "invalid", "The rule file is not UTF-8 text.", "body") from exc
        values: dict[str, Any] = {**request.query_params, "rules_yaml": text}
    else:
        if request.query_params:
            name = next(iter(request.query_params))
            raise FhirError.one(
                400, "invalid", "With a JSON body, give since and limit in the body.", name
            )
        values = load_json(body)
    try:
        return BacktestRequest.model_validate(values)
    except ValidationError as exc:
        issues = [
            Issue("invalid", e["msg"], ".".join(str(p) for p in e["loc"]) or None)
            for e in exc.errors()
        ]
        raise FhirError(400, issues) from exc
