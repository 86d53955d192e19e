"""A revoked agency is told nothing more: revoking switches its subscriptions off and drops
what was waiting for it, and enqueue and delivery skip a revoked client however it came to
be revoked."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from app.notify.dispatcher import Dispatcher
from app.runtime import AppState
from app.services.access.clients import revoke_client
from app.store.auth_models import ApiClient
from app.store.webhook_models import WebhookMessage
from tests.notify.kit import infant_in, registered_agency, subscribe, subscription
from tests.notify.receiver import receiving


def _pending(state: AppState) -> int:
    return state.read(
        lambda s: s.scalar(
            select(func.count())
            .select_from(WebhookMessage)
            .where(WebhookMessage.state == "pending")
        )
    )


def test_revoking_an_agency_stops_its_webhooks(
    hooks_state: AppState, hooks_client: TestClient, dispatcher: Dispatcher
) -> None:
    client_id, gp = registered_agency(hooks_state, hooks_client, full_resource=True)
    with receiving() as hook:
        created = subscribe(hooks_client, gp, subscription(hook.url, payload="full-resource"))
        dispatcher.drain()
        hook.received(1)  # the handshake
        infant_in(hooks_client, "A81001")  # a flag for it, not yet delivered
        assert _pending(hooks_state) == 1

        hooks_state.write(lambda s: revoke_client(s, client_id, hooks_state.clock()))
        assert _pending(hooks_state) == 0
        infant_in(hooks_client, "A81001")  # and one raised after the revocation
        assert _pending(hooks_state) == 0
        dispatcher.drain()
        assert len(hook.requests) == 1  # nothing after the handshake

    sub = hooks_client.get(f"/fhir/Subscription/{created['id']}")
    assert sub.status_code == 200 and sub.json()["status"] == "off"
    trail = hooks_client.get("/fhir/AuditEvent", params={"subtype": "revoke"}).json()
    [record] = [e["resource"] for e in trail["entry"]]
    named = {x["what"]["reference"] for x in record["entity"] if "what" in x}
    assert f"Subscription/{created['id']}" in named
    assert "1 pending messages dropped" in record["outcomeDesc"]


def test_a_client_revoked_by_other_means_is_skipped_by_enqueue_and_claim(
    hooks_state: AppState, hooks_client: TestClient, dispatcher: Dispatcher
) -> None:
    client_id, gp = registered_agency(hooks_state, hooks_client)
    with receiving() as hook:
        subscribe(hooks_client, gp, subscription(hook.url))
        dispatcher.drain()
        hook.received(1)
        infant_in(hooks_client, "A81001")
        assert _pending(hooks_state) == 1
        # Revoked behind the service's back: the subscription still says active.
        hooks_state.write(
            lambda s: s.execute(
                update(ApiClient)
                .where(ApiClient.client_id == client_id)
                .values(revoked_at=hooks_state.clock())
            )
        )
        dispatcher.drain()  # the waiting message is not claimed
        infant_in(hooks_client, "A81001")
        assert _pending(hooks_state) == 1  # and no new one was written
        dispatcher.drain()
        assert len(hook.requests) == 1
