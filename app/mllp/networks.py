"""Which addresses may open an MLLP connection (`WNB_MLLP_ALLOWED_NETWORKS`)."""

from __future__ import annotations

import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> list[Network]:
    """CIDRs, comma-separated; a bad one stops start-up naming it."""
    out: list[Network] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"WNB_MLLP_ALLOWED_NETWORKS: {part!r} is not a CIDR") from None
    return out


def allowed(address: str, networks: list[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # an IPv4 peer on a dual-stack socket
    return any(ip.version == n.version and ip in n for n in networks)
