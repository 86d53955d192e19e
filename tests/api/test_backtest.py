"""Backtesting a rule file over a history stored through the API: which children, which rules,
when, the diff against the rules in force, and that nothing but the audit record is written.
FIXED_NOW is 2026-06-15T12:00Z; the rules in force are rules/default.yaml."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app import cli
from app.runtime import AppState
from app.services.concerns import backtest
from app.store.models import (
    AuditRecord,
    CodedEvent,
    RaisedFlag,
    Resource,
    ResourceVersion,
    SafeguardingStatus,
)
from app.store.reconcile_models import ReconcileDue
from tests.conftest import FIXED_NOW
from tests.factories import (
    appointment,
    child,
    created_id,
    nhs_number,
    post,
    related_person,
)

STATUS_SYSTEM = "https://wnb.dev/fhir/CodeSystem/safeguarding-status"
REASON_SYSTEM = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"
YAML = {"Content-Type": "application/yaml"}
NEW_RULES = """
rules:
  # repeat-wnb tightened: three missed appointments instead of two.
  - id: repeat-wnb
    version: 3
    description: The child has missed three or more appointments or home visits within a year.
    summary: "{events} missed appointments within {window_days} days"
    priority: medium
    agencies: [gp, health-visiting, school-nursing]
    scope: child
    categories: [was-not-brought, no-access]
    threshold: 3
    window_days: 365
  - id: sibling-cancellations
    version: 1
    description: Two children of one family had appointments cancelled by the carer.
    summary: "{children} children's appointments cancelled by the carer"
    priority: low
    agencies: [gp]
    scope: family
    categories: [carer-cancelled]
    count: children
    threshold: 2
    window_days: 60
  - id: protected-cancelled
    version: 1
    description: The carer cancelled an appointment of a child on a child protection plan.
    priority: high
    agencies: [social-care]
    scope: child
    categories: [carer-cancelled]
    statuses: [cp-plan]
"""
TIGHTENED_ONLY = NEW_RULES.split("  - id: sibling-cancellations")[0]
SIBLINGS_ONLY = (
    "rules:\n  - id: sibling-cancellations"
    + NEW_RULES.split("  - id: sibling-cancellations")[1].split("  - id: protected-cancelled")[0]
)


def visit(client: TestClient, pid: str, day: str, status: str = "noshow", **extra: Any) -> str:
    body = appointment(f"Patient/{pid}", status, f"{day}T09:00:00Z", **extra)
    return f"Appointment/{created_id(post(client, 'Appointment', body))}"


def carer_cancelled(client: TestClient, pid: str, day: str) -> str:
    reason = {"coding": [{"system": REASON_SYSTEM, "code": "pat"}]}
    return visit(client, pid, day, "cancelled", cancelationReason=reason)


@pytest.fixture
def history(client: TestClient) -> dict[str, Any]:
    """b: 3 missed in a year; c: 2 missed; f1 and f2 (one carer; f1 on a plan): each a carer
    cancellation, 19 days apart; an adult with 3 missed (never a child's event)."""
    b, c, f1, f2 = (child(client, birth="2018-04-01") for _ in range(4))
    adult = child(client, birth="1990-01-01")
    carer = nhs_number()
    for pid in (f1, f2):
        post(client, "RelatedPerson", related_person(f"Patient/{pid}", carer))
    plan = {
        "resourceType": "Flag",
        "status": "active",
        "subject": {"reference": f"Patient/{f1}"},
        "code": {"coding": [{"system": STATUS_SYSTEM, "code": "cp-plan"}]},
        "period": {"start": "2026-01-01"},
    }
    created_id(post(client, "Flag", plan))
    ids = {"b": b, "c": c, "f1": f1, "f2": f2}
    ids["b1"], ids["b2"], ids["b3"] = (
        visit(client, b, d) for d in ("2025-09-01", "2025-12-01", "2026-03-01")
    )
    visit(client, c, "2026-01-10")
    visit(client, c, "2026-02-10")
    ids["f1c"] = carer_cancelled(client, f1, "2026-04-01")
    ids["f2c"] = carer_cancelled(client, f2, "2026-04-20")
    visit(client, f1, "2026-05-01", "fulfilled")
    for d in ("2026-01-05", "2026-01-06", "2026-01-07"):
        visit(client, adult, d)
    return ids


def expected_firings(h: dict[str, Any]) -> list[tuple[str, str, str, str, list[str]]]:
    """(at, rule, patient, trigger, evidence) in the report's order."""
    siblings = [
        ("2026-04-20T09:00:00.000Z", "sibling-cancellations", f"Patient/{kid}", h["f2c"])
        for kid in sorted((h["f1"], h["f2"]))
    ]
    b_evidence = [h[k] for k in ("b1", "b2", "b3")]
    return [
        ("2026-03-01T09:00:00.000Z", "repeat-wnb", f"Patient/{h['b']}", h["b3"], b_evidence),
        (
            "2026-04-01T09:00:00.000Z",
            "protected-cancelled",
            f"Patient/{h['f1']}",
            h["f1c"],
            [h["f1c"]],
        ),
        *((*s, [h["f1c"], h["f2c"]]) for s in siblings),
    ]


def firings_of(report: dict[str, Any]) -> list[tuple[str, str, str, str, list[str]]]:
    return [
        (f["at"], f["rule_id"], f["patient"], f["trigger"]["event"], f["evidence"])
        for f in report["firings"]
    ]


def pairs(items: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(p["rule_id"], p["patient"]) for p in items]


def table_counts(state: AppState) -> dict[str, int]:
    tables = (Resource, ResourceVersion, CodedEvent, RaisedFlag, ReconcileDue, SafeguardingStatus)
    return {
        t.__tablename__: state.read(lambda s, t=t: s.scalar(select(func.count()).select_from(t)))
        for t in (*tables, AuditRecord)
    }


def test_backtest_reports_children_rules_and_diff(
    client: TestClient, state: AppState, history: dict[str, Any]
) -> None:
    before = table_counts(state)
    r = client.post("/api/rules/backtest", content=NEW_RULES, headers=YAML)
    assert r.status_code == 200, r.text
    report = r.json()
    assert firings_of(report) == expected_firings(history)
    first = report["firings"][0]
    assert first["description"] == "3 missed appointments within 365 days"
    assert (first["rule_version"], first["priority"]) == (3, "medium")
    assert first["trigger"]["at"] == "2026-03-01T09:00:00.000Z"
    assert report["firings"][2]["description"] == "2 children's appointments cancelled by the carer"
    assert report["now"] == "2026-06-15T12:00:00.000Z" and report["since"] is None
    assert (report["families"], report["events"], report["firings_total"]) == (3, 8, 4)
    assert report["truncated"] is False
    f1, f2 = f"Patient/{history['f1']}", f"Patient/{history['f2']}"
    assert report["rules"] == [
        {
            "rule_id": "repeat-wnb",
            "version": 3,
            "enabled": True,
            "firings": 1,
            "children": 1,
            # In force (threshold 2): b at the 2nd and 3rd miss, c at the 2nd.
            "in_force": {"version": 2, "firings": 3, "children": 2},
        },
        {
            "rule_id": "sibling-cancellations",
            "version": 1,
            "enabled": True,
            "firings": 2,
            "children": 2,
            "in_force": None,
        },
        {
            "rule_id": "protected-cancelled",
            "version": 1,
            "enabled": True,
            "firings": 1,
            "children": 1,
            "in_force": None,
        },
    ]
    # Rules in force the file does not name (family-wnb, not-rebooked...) are not compared.
    assert pairs(report["diff"]["added"]) == sorted(
        [("protected-cancelled", f1), ("sibling-cancellations", f1), ("sibling-cancellations", f2)]
    )
    assert pairs(report["diff"]["removed"]) == [("repeat-wnb", f"Patient/{history['c']}")]
    assert report["diff"]["kept"] == 1
    # Read-only: the only row written is the audit record of the backtest itself.
    after = table_counts(state)
    assert after == {**before, "audit_event": before["audit_event"] + 1}
    audit = client.get("/fhir/AuditEvent", params={"subtype": "operation", "patient": f1})
    [entry] = audit.json()["entry"]
    entities = {e["what"]["reference"] for e in entry["resource"]["entity"] if "what" in e}
    assert entities == {f"Patient/{history[k]}" for k in ("b", "c", "f1", "f2")}


def test_json_body_with_since_and_limit(client: TestClient, history: dict[str, Any]) -> None:
    body = {"rules_yaml": NEW_RULES, "since": "2026-02-15", "limit": 1}
    r = client.post("/api/rules/backtest", json=body)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["since"] == "2026-02-15T00:00:00.000Z"
    # c's only in-force firing (10 February) is before `since`: nothing is removed now.
    assert report["diff"]["removed"] == []
    assert report["diff"]["kept"] == 1
    assert report["rules"][0]["in_force"] == {"version": 2, "firings": 1, "children": 1}
    assert (report["firings_total"], report["truncated"]) == (4, True)
    assert firings_of(report) == expected_firings(history)[:1]


def test_yaml_body_takes_since_from_the_query(client: TestClient, history: dict[str, Any]) -> None:
    r = client.post("/api/rules/backtest?since=2026-04-10", content=NEW_RULES, headers=YAML)
    assert r.status_code == 200, r.text
    assert [f[1] for f in firings_of(r.json())] == ["sibling-cancellations"] * 2


def test_service_run_agrees_and_since_reads_only_the_reach(
    state: AppState, history: dict[str, Any]
) -> None:
    in_force = state.rules
    new = backtest.load_posted(SIBLINGS_ONLY)
    whole = state.read(lambda s: backtest.run(s, new, in_force, None, FIXED_NOW))
    since = datetime(2026, 4, 15, tzinfo=UTC)
    part = state.read(lambda s: backtest.run(s, new, in_force, since, FIXED_NOW))
    assert [f for f in whole.firings() if f.at >= since] == part.firings()
    assert [(f.rule_id, f.child_id) for f in part.firings()] == sorted(
        ("sibling-cancellations", history[k]) for k in ("f1", "f2")
    )
    # The rule looks back 60 days: events before 13 February 2026 are never read.
    assert (whole.events, part.events) == (8, 4)
    tightened = backtest.load_posted(TIGHTENED_ONLY)
    report = state.read(lambda s: backtest.run(s, tightened, in_force, None, FIXED_NOW))
    assert report.diff.removed == (("repeat-wnb", history["c"]),)
    assert report.diff.added == ()
    # Switched off: every pair the rule in force flags is removed.
    off = backtest.load_posted(
        TIGHTENED_ONLY.replace("version: 3", "version: 3\n    enabled: false")
    )
    report = state.read(lambda s: backtest.run(s, off, in_force, None, FIXED_NOW))
    assert report.diff.removed == tuple(sorted(("repeat-wnb", history[k]) for k in ("b", "c")))
    assert (report.counts[0].enabled, report.counts[0].firings, report.firings_total) == (
        False,
        0,
        0,
    )
    # Only the wording and version changed: replayed once, the same pairs, all kept.
    reworded = backtest.load_posted(
        TIGHTENED_ONLY.replace("threshold: 3", "threshold: 2").replace("three or more", "2+")
    )
    report = state.read(lambda s: backtest.run(s, reworded, in_force, None, FIXED_NOW))
    assert (report.diff.added, report.diff.removed, report.kept) == ((), (), 2)
    assert (report.same_pairs, report.diff.kept) == (2, ())  # not compared: the same rule
    [count] = report.counts
    assert (count.version, count.in_force_version) == (3, 2)
    assert (count.firings, count.children) == (count.in_force_firings, count.in_force_children)
    assert (count.firings, count.children) == (3, 2)
    # With nothing in force every pair is new.
    alone = state.read(lambda s: backtest.run(s, tightened, None, None, FIXED_NOW))
    assert alone.diff.added == (("repeat-wnb", history["b"]),)
    assert alone.counts[0].in_force_version is None


BAD_FILES = [
    (
        NEW_RULES.replace("threshold: 3", "threshold: 0"),
        "posted-rules.yaml: rule repeat-wnb: field threshold: Input should be greater than 0",
    ),
    (
        NEW_RULES.replace("count: children", "count: children\n    colour: red"),
        "posted-rules.yaml: rule sibling-cancellations: field colour: "
        "Extra inputs are not permitted",
    ),
    (
        NEW_RULES + NEW_RULES.split("rules:")[1],
        "posted-rules.yaml: rule repeat-wnb: field id: already defined in posted-rules.yaml",
    ),
    ("rules: []", "posted-rules.yaml: field rules: List should have at least 1 item"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
@pytest.mark.parametrize("as_json", [False, True])
def test_bad_rule_file_is_422_naming_file_rule_field(
    client: TestClient, state: AppState, text: str, message: str, as_json: bool
) -> None:
    before = table_counts(state)
    if as_json:
        r = client.post("/api/rules/backtest", json={"rules_yaml": text})
    else:
        r = client.post("/api/rules/backtest", content=text, headers={"Content-Type": "text/yaml"})
    assert r.status_code == 422, r.text
    [issue] = r.json()["issue"]
    assert issue["diagnostics"].startswith(message)
    assert "\n" not in issue["diagnostics"] and "/tmp" not in issue["diagnostics"]
    assert issue["expression"] == ["rules_yaml"]
    # The refusal is recorded, nothing else.
    assert table_counts(state) == {**before, "audit_event": before["audit_event"] + 1}


def test_not_yaml_is_422(client: TestClient) -> None:
    r = client.post("/api/rules/backtest", content="rules: [", headers=YAML)
    assert r.status_code == 422
    assert r.json()["issue"][0]["diagnostics"].startswith("posted-rules.yaml: not valid YAML")


@pytest.mark.parametrize(
    ("kwargs", "status", "where"),
    [
        ({"json": {"rules_yaml": NEW_RULES, "since": "2026-13-01"}}, 400, "since"),
        ({"json": {"rules_yaml": NEW_RULES, "colour": 1}}, 400, "colour"),
        ({"json": {"since": "2026-01-01"}}, 400, "rules_yaml"),
        ({"json": ["rules"]}, 400, None),
        ({"json": {"rules_yaml": NEW_RULES}, "params": {"since": "2026-01-01"}}, 400, "since"),
        ({"content": NEW_RULES, "headers": YAML, "params": {"limit": "-1"}}, 400, "limit"),
        ({"content": NEW_RULES, "headers": YAML, "params": {"until": "x"}}, 400, "until"),
        ({"content": NEW_RULES, "headers": {"Content-Type": "text/plain"}}, 415, "Content-Type"),
        ({"content": b"x" * (1024 * 1024 + 1), "headers": YAML}, 413, "body"),
    ],
)
def test_bad_requests(
    client: TestClient, kwargs: dict[str, Any], status: int, where: str | None
) -> None:
    r = client.post("/api/rules/backtest", **kwargs)
    assert r.status_code == status, r.text
    assert r.json()["resourceType"] == "OperationOutcome"
    assert r.json()["issue"][0].get("expression") == ([where] if where else None)


@pytest.mark.parametrize("role", ["source", "nurse", "agency"])
def test_only_admin_may_backtest(
    anonymous: TestClient, role_tokens: dict[str, str], state: AppState, role: str
) -> None:
    before = table_counts(state)
    r = anonymous.post(
        "/api/rules/backtest",
        content=NEW_RULES,
        headers={**YAML, "Authorization": f"Bearer {role_tokens[role]}"},
    )
    assert r.status_code == 403
    assert r.json()["issue"][0]["code"] == "forbidden"
    assert table_counts(state) == {**before, "audit_event": before["audit_event"] + 1}
    assert anonymous.post("/api/rules/backtest", content=NEW_RULES, headers=YAML).status_code == 401


# --- the command line -------------------------------------------------------------------


def test_rules_check_default_folder(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["rules", "check"]) == 0
    assert capsys.readouterr().out == (
        "ok: 7 rules (protected-child, infant-wnb, repeat-wnb, family-wnb, multi-service, "
        "carer-cancellations, not-rebooked)\n"
    )


def test_rules_check_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(NEW_RULES)
    assert cli.main(["rules", "check", str(good)]) == 0
    assert capsys.readouterr().out == (
        "ok: 3 rules (repeat-wnb, sibling-cancellations, protected-cancelled)\n"
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(NEW_RULES.replace("window_days: 60", "window_days: -1"))
    assert cli.main(["rules", "check", str(bad)]) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err == (
        f"{bad}: rule sibling-cancellations: field window_days: Input should be greater than 0\n"
    )
    assert cli.main(["rules", "check", str(tmp_path / "missing.yaml")]) == 1
    assert capsys.readouterr().err == f"{tmp_path / 'missing.yaml'}: no such file or folder\n"


def test_rules_check_a_folder_with_an_id_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.yaml").write_text(TIGHTENED_ONLY)
    (tmp_path / "b.yaml").write_text(NEW_RULES)
    assert cli.main(["rules", "check", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        f"{tmp_path / 'b.yaml'}: rule repeat-wnb: field id: already defined in "
        f"{tmp_path / 'a.yaml'}\n"
    )


@pytest.mark.own_connections("the command line opens its own engine")
def test_cli_backtest_matches_the_api(
    client: TestClient,
    state: AppState,
    history: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("WNB_DATABASE_URL", state.settings.database_url)
    rule_file = tmp_path / "new.yaml"
    rule_file.write_text(NEW_RULES)
    before = table_counts(state)
    assert cli.main(["rules", "backtest", str(rule_file), "--json"]) == 0
    from_cli = json.loads(capsys.readouterr().out)
    from_api = client.post("/api/rules/backtest", content=NEW_RULES, headers=YAML).json()
    # The command line runs on the real clock, later than every event here.
    assert {**from_cli, "now": None} == {**from_api, "now": None}
    assert table_counts(state) == {**before, "audit_event": before["audit_event"] + 1}

    assert cli.main(["rules", "backtest", str(rule_file), "--since", "2026-04-10"]) == 0
    text = capsys.readouterr().out
    assert f"backtest of {rule_file}: 8 children's events in 3 families" in text
    assert "from 2026-04-10" in text
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line}
    # From 10 April only the siblings' firing (20 April) is left; b's and c's are earlier.
    assert rows["repeat-wnb"] == ["3", "0", "0", "2", "0", "0"]
    assert rows["sibling-cancellations"] == ["1", "2", "2", "(new", "rule)"]
    assert f"  - repeat-wnb  Patient/{history['c']}" not in text
    assert f"  + sibling-cancellations  Patient/{history['f2']}" in text
    assert f"trigger {history['f2c']}: 2 children's appointments cancelled by the carer" in text
    assert "(new rule)" in text


def test_cli_backtest_of_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [")
    assert cli.main(["rules", "backtest", str(bad)]) == 1
    assert capsys.readouterr().err.startswith(f"{bad}: not valid YAML")


@pytest.mark.own_connections("the command line opens its own engine")
def test_the_backtest_speaks_concerns_and_compares_two_files(
    client: TestClient,
    state: AppState,
    history: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """b and c each hold one concern (not-rebooked first, repeat-wnb added later); raising
    repeat-wnb's threshold to 3 keeps b's reasons and takes repeat-wnb from c's concern."""
    monkeypatch.setenv("WNB_DATABASE_URL", state.settings.database_url)
    current = Path(__file__).resolve().parents[2] / "rules" / "default.yaml"
    text = current.read_text()
    needle = "    threshold: 2\n    window_days: 365"
    assert needle in text
    proposed = tmp_path / "proposed.yaml"
    proposed.write_text(text.replace(needle, "    threshold: 3\n    window_days: 365"))

    report = client.post("/api/rules/backtest", content=text, headers=YAML).json()
    assert report["concerns"] == 2
    weeks = report["concerns_per_week"]
    assert sum(w["raised"] for w in weeks) == 2
    assert sum(w["reasons_added"] for w in weeks) == 2  # repeat-wnb joins each concern later
    assert [w["week"] for w in weeks] == sorted(w["week"] for w in weeks)

    assert cli.main(["rules", "backtest", "--compare", str(current), str(proposed)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"concerns per week, {current} -> {proposed}")
    assert "0 gain a concern, 0 lose theirs, 1 keep one with other reasons" in out
    assert f"  ~ Patient/{history['c']}: not-rebooked, repeat-wnb -> not-rebooked" in out
    assert cli.main(["rules", "backtest"]) == 2  # neither a file nor --compare
