"""The SSRF guard: a webhook endpoint may only reach the public internet over https. The host
is resolved once, every address is checked, and the delivery connects to the checked address
(so a DNS answer cannot change between check and use). Redirects are never followed."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[..., list[tuple[Any, ...]]]

# Not covered by `is_global` in every Python version, or worth naming outright.
EXTRA_BLOCKED: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT (and some clouds' metadata, 100.100.100.200)
        "169.254.0.0/16",  # link-local, 169.254.169.254 metadata
        "192.0.0.0/24",
        "198.18.0.0/15",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",
        "fc00::/7",  # unique local, fd00:ec2::254 metadata
        "fe80::/10",
        "ff00::/8",
    )
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class EndpointRefused(ValueError):
    """An endpoint the guard will not connect to; the message says why (safe to show)."""


@dataclass(frozen=True)
class Target:
    """Where to connect: the checked address, and the name for Host and TLS."""

    scheme: str
    host: str
    port: int
    address: str
    path: str

    @property
    def url(self) -> str:
        literal = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{literal}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """`WNB_WEBHOOK_ALLOWED_NETWORKS`: comma-separated CIDRs."""
    try:
        return tuple(ipaddress.ip_network(p.strip()) for p in text.split(",") if p.strip())
    except ValueError as exc:
        raise ValueError(f"WNB_WEBHOOK_ALLOWED_NETWORKS: {exc}") from None


def unwrap(address: IPAddress) -> IPAddress:
    """The IPv4 address hidden in an IPv4-mapped, 6to4 or NAT64 IPv6 address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def is_public(address: IPAddress) -> bool:
    """True only for a globally routable unicast address."""
    plain = unwrap(address)
    return (
        plain.is_global
        and not plain.is_multicast
        and not plain.is_reserved
        and not plain.is_loopback
        and not plain.is_link_local
        and not plain.is_private
        and not any(plain.version == n.version and plain in n for n in EXTRA_BLOCKED)
    )


def check_url(url: str) -> tuple[str, str, int, str]:
    """Scheme, host, port and path of an endpoint URL, or EndpointRefused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise EndpointRefused(f"the endpoint is not a valid URL: {exc}") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise EndpointRefused("the endpoint must be an absolute https:// URL")
    if parts.username is not None or parts.password is not None:
        raise EndpointRefused("the endpoint must not carry a user name or password")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def resolve(
    url: str,
    allowed: Sequence[IPNetwork] = (),
    resolver: Resolver = socket.getaddrinfo,
) -> Target:
    """Resolve the endpoint once and check every address. Public addresses need https;
    addresses inside `allowed` networks are accepted over http or https."""
    scheme, host, port, path = check_url(url)
    try:
        infos = resolver(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise EndpointRefused(
            f"the endpoint's host does not resolve ({type(exc).__name__})"
        ) from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(i[4][0].split("%")[0]) for i in infos))
    if not addresses:
        raise EndpointRefused("the endpoint's host does not resolve")
    opened = [any(a.version == n.version and a in n for n in allowed) for a in addresses]
    if all(opened):
        return Target(scheme, host, port, str(addresses[0]), path)
    for address, ok in zip(addresses, opened, strict=True):
        if not ok and not is_public(address):
            raise EndpointRefused(
                f"the endpoint resolves to {address}, a loopback, private, link-local, "
                "shared or multicast address"
            )
    if scheme != "https":
        raise EndpointRefused("the endpoint must use https")
    return Target(scheme, host, port, str(addresses[0]), path)
