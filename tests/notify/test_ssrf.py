"""The SSRF guard: https to public addresses only, every resolved address checked, the
checked address used, redirects never followed."""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.notify.dispatcher import Dispatcher, wall_clock
from app.notify.ssrf import EndpointRefused, Target, parse_networks, resolve
from app.runtime import AppState
from tests.factories import FHIR_JSON
from tests.notify.conftest import Subscribed, make_dispatcher
from tests.notify.kit import agency, infant_in, subscription


def resolver_to(*addresses: str) -> Any:
    def resolve_fake(host: str, port: int, **_: object) -> list[tuple[Any, ...]]:
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    return resolve_fake


REFUSED = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.9",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "100.100.100.200",  # a cloud's metadata, inside CGNAT
    "0.0.0.0",
    "224.0.0.1",
    "239.255.255.250",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd00:ec2::254",  # cloud metadata over IPv6
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
]


@pytest.mark.parametrize("address", REFUSED)
def test_private_and_special_addresses_are_refused(address: str) -> None:
    with pytest.raises(EndpointRefused, match="loopback, private"):
        resolve("https://hooks.example.org/x", (), resolver_to(address))


def test_one_bad_address_among_good_ones_is_enough_to_refuse() -> None:
    with pytest.raises(EndpointRefused):
        resolve("https://hooks.example.org/x", (), resolver_to("93.184.216.34", "10.0.0.1"))


@pytest.mark.parametrize(
    "url, why",
    [
        ("http://hooks.example.org/x", "https"),
        ("ftp://hooks.example.org/x", "https"),
        ("https://user:pw@hooks.example.org/x", "user name"),
        ("/relative", "https"),
        ("https://hooks.example.org:99999/x", "valid URL"),
    ],
)
def test_bad_urls_are_refused(url: str, why: str) -> None:
    with pytest.raises(EndpointRefused, match=why):
        resolve(url, (), resolver_to("93.184.216.34"))


def test_a_public_https_endpoint_connects_to_the_checked_address() -> None:
    target = resolve("https://hooks.example.org/in?x=1", (), resolver_to("93.184.216.34"))
    assert target == Target("https", "hooks.example.org", 443, "93.184.216.34", "/in?x=1")
    assert target.url == "https://93.184.216.34:443/in?x=1"
    assert target.host_header == "hooks.example.org"


def test_allowed_networks_open_plain_http() -> None:
    allowed = parse_networks("127.0.0.0/8, ::1/128")
    target = resolve("http://localhost:8080/h", allowed, resolver_to("127.0.0.1"))
    assert target.address == "127.0.0.1" and target.host_header == "localhost:8080"
    with pytest.raises(EndpointRefused):
        resolve("http://localhost:8080/h", parse_networks("10.0.0.0/8"), resolver_to("127.0.0.1"))


def test_a_subscription_to_a_loopback_endpoint_is_refused(
    state: AppState, client: TestClient
) -> None:
    gp = agency(state, client)
    for endpoint in ("http://127.0.0.1:9/h", "https://127.0.0.1/h", "https://[::1]/h"):
        r = client.post(
            "/fhir/Subscription", json=subscription(endpoint), headers={**FHIR_JSON, **gp}
        )
        assert r.status_code == 422, r.text
        assert r.json()["issue"][0]["expression"] == ["Subscription.channel.endpoint"]


def test_delivery_checks_again_and_follows_no_redirect(
    hooks_state: AppState, hooks_client: TestClient, dispatcher: Dispatcher, subscribed: Subscribed
) -> None:
    gp, hook, created = subscribed.headers, subscribed.hook, subscribed.created
    hook.answers = [302]
    infant_in(hooks_client, "A81001")
    dispatcher.drain()
    hook.received(2)
    # the network was allowed when the agency subscribed; now it is not (a DNS answer
    # that changed would look the same): the guard refuses before connecting
    # Its clock a minute on: the retry is due (FAST retries after 0.05 s), no sleeping.
    strict = make_dispatcher(
        hooks_state, lambda: wall_clock() + timedelta(minutes=1), allowed_networks=()
    )
    try:
        strict.drain()
    finally:
        strict.close()
    assert len(hook.requests) == 2
    log = hooks_client.get(f"/api/subscriptions/{created['id']}/attempts", headers=gp).json()
    newest, redirected = log["attempts"][0], log["attempts"][1]
    assert "SSRF guard" in newest["error"] and newest["status_code"] is None
    assert redirected["status_code"] == 302
