"""Agency A never receives, nor can read, agency B's flags: an agency sees a flag only when
the rule names its type and the flag is in one of its areas, and then the flag's child."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.notify.dispatcher import Dispatcher
from app.runtime import AppState
from tests.factories import appointment, post
from tests.notify.kit import agency, infant_in, open_flag, subscribe, subscription
from tests.notify.receiver import receiving
from tests.services.test_rules_at_ingest import reasons


def test_deliveries_go_only_to_the_agencies_a_flag_concerns(
    hooks_state: AppState, hooks_client: TestClient, dispatcher: Dispatcher
) -> None:
    ours = agency(hooks_state, hooks_client, "gp", ("A81001",))
    other_area = agency(hooks_state, hooks_client, "gp", ("B82002",))
    other_type = agency(hooks_state, hooks_client, "social-care", ("A81001",))  # not named
    with receiving() as a, receiving() as b, receiving() as c:
        subscribe(hooks_client, ours, subscription(a.url))
        subscribe(hooks_client, other_area, subscription(b.url))
        subscribe(hooks_client, other_type, subscription(c.url))
        dispatcher.drain()
        pid_a = infant_in(hooks_client, "A81001")
        pid_b = infant_in(hooks_client, "B82002")
        dispatcher.drain()
        flag_a, flag_b = open_flag(hooks_client, pid_a), open_flag(hooks_client, pid_b)
        [_, to_a] = a.received(2)
        [_, to_b] = b.received(2)
        assert len(c.requests) == 1  # its handshake only
    assert flag_a in to_a.body.decode() and flag_b not in to_a.body.decode()
    assert flag_b in to_b.body.decode() and flag_a not in to_b.body.decode()


def test_an_agency_reads_only_its_flags_and_their_children(
    hooks_state: AppState, hooks_client: TestClient, anonymous: TestClient
) -> None:
    ours = agency(hooks_state, hooks_client, "gp", ("A81001",))
    theirs = agency(hooks_state, hooks_client, "gp", ("B82002",))
    mine_pid, their_pid = infant_in(hooks_client, "A81001"), infant_in(hooks_client, "B82002")
    mine, their = open_flag(hooks_client, mine_pid), open_flag(hooks_client, their_pid)

    for path in (
        f"/fhir/Flag/{mine}",
        f"/fhir/Flag/{mine}/_history",
        f"/fhir/Flag/{mine}/_history/1",
        f"/fhir/Patient/{mine_pid}",
        f"/fhir/Patient/{mine_pid}/_history",
    ):
        assert anonymous.get(path, headers=ours).status_code == 200, path
    for path in (
        f"/fhir/Flag/{their}",
        f"/fhir/Flag/{their}/_history",
        f"/fhir/Flag/{their}/_history/1",
        f"/fhir/Patient/{their_pid}",
        f"/fhir/Patient/{their_pid}/_history",
    ):
        r = anonymous.get(path, headers=ours)
        assert r.status_code == 404, (path, r.status_code)
        assert r.json()["issue"][0]["expression"]

    found = anonymous.get("/fhir/Flag", params={"_include": "Flag:patient"}, headers=ours).json()
    refs = {e["resource"]["resourceType"] + "/" + e["resource"]["id"] for e in found["entry"]}
    assert refs == {f"Flag/{mine}", f"Patient/{mine_pid}"}
    # the same search, asking for the other agency's flag by id, finds nothing
    only = anonymous.get("/fhir/Flag", params={"_id": their}, headers=ours).json()
    assert not only.get("entry")
    assert anonymous.get("/fhir/Patient", headers=ours).status_code == 403
    assert anonymous.get(f"/fhir/Flag/{their}", headers=theirs).status_code == 200

    trail = hooks_client.get(
        "/fhir/AuditEvent", params={"entity": f"Flag/{mine}", "type": "110106"}
    ).json()
    reads = [e["resource"] for e in trail["entry"] if e["resource"]["outcome"] == "0"]
    assert reads, "an agency's read is recorded as a disclosure"
    named = {x["what"]["reference"] for x in reads[0]["entity"] if "what" in x}
    assert {f"Flag/{mine}", f"Patient/{mine_pid}"} <= named


def test_an_agency_without_a_registration_sees_nothing(
    hooks_client: TestClient, anonymous: TestClient, role_tokens: dict[str, str]
) -> None:
    pid = infant_in(hooks_client, "A81001")
    flag = open_flag(hooks_client, pid)
    auth = {"Authorization": f"Bearer {role_tokens['agency']}"}
    assert anonymous.get(f"/fhir/Flag/{flag}", headers=auth).status_code == 404
    assert not anonymous.get("/fhir/Flag", headers=auth).json().get("entry")


def test_an_agency_reads_only_the_reasons_that_name_its_type(
    hooks_state: AppState, hooks_client: TestClient, anonymous: TestClient
) -> None:
    """A baby not brought twice: infant-wnb (gp, health visiting, safeguarding team) and
    repeat-wnb (gp, health visiting, school nursing) on one concern. The school nurse reads
    the concern with repeat-wnb alone, the safeguarding team with infant-wnb alone."""
    pid = infant_in(hooks_client, "A81001", missed_on="2026-06-08")
    post(hooks_client, "Appointment", appointment(f"Patient/{pid}", start="2026-06-10T09:00:00Z"))
    concern = open_flag(hooks_client, pid)
    seen = {}
    for kind in ("gp", "school-nursing", "safeguarding-team"):
        headers = agency(hooks_state, hooks_client, kind, ("A81001",))
        read = anonymous.get(f"/fhir/Flag/{concern}", headers=headers)
        assert read.status_code == 200, read.text
        found = anonymous.get("/fhir/Flag", params={"patient": pid}, headers=headers).json()
        [entry] = found["entry"]
        assert entry["resource"] == read.json() | {"meta": entry["resource"]["meta"]}
        seen[kind] = set(reasons(read.json()))
    assert seen == {
        "gp": {"infant-wnb", "repeat-wnb"},
        "school-nursing": {"repeat-wnb"},
        "safeguarding-team": {"infant-wnb"},
    }
