"""Which URLs a webhook may point at (server-side request forgery guard).

http(s) only. Link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10,
fd00:ec2::254, ...) are always refused; private, unique-local, shared and reserved ranges
unless `webhook_allow_private`; loopback unless `webhook_allow_loopback` (default: true in
development, so tests and `make run` work, false in production). Host names are resolved
and every address they resolve to must pass, at creation and again before each delivery.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from ledger_api.errors import InvalidWebhookUrl

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_METADATA = (
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("fd00:ec2::254/128"),
    ipaddress.ip_network("100.100.100.200/32"),  # Alibaba Cloud metadata
)


def check_address(address: IpAddress, *, allow_private: bool, allow_loopback: bool) -> None:
    """Refuses an address a webhook may not reach (`InvalidWebhookUrl`)."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    if any(address in net for net in _METADATA if net.version == address.version):
        raise InvalidWebhookUrl(
            "link-local and metadata addresses are refused", address=str(address)
        )
    if address.is_loopback:
        if not (allow_loopback or allow_private):
            raise InvalidWebhookUrl("loopback addresses are refused", address=str(address))
        return
    if address.is_multicast or address.is_unspecified:
        raise InvalidWebhookUrl("not a unicast address", address=str(address))
    if not address.is_global and not allow_private:
        raise InvalidWebhookUrl(
            "private addresses are refused (LEDGER_WEBHOOK_ALLOW_PRIVATE)", address=str(address)
        )


def check_url(url: str, *, allow_private: bool, allow_loopback: bool, resolve: bool = True) -> str:
    """The URL if a webhook may call it; `InvalidWebhookUrl` otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidWebhookUrl(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidWebhookUrl("the URL must be http:// or https:// with a host")
    if parts.username or parts.password:
        raise InvalidWebhookUrl("credentials in the URL are refused")
    host = parts.hostname
    try:
        literal: IpAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        check_address(literal, allow_private=allow_private, allow_loopback=allow_loopback)
        return url
    if not resolve:
        return url
    try:
        infos = socket.getaddrinfo(host, port or (443 if parts.scheme == "https" else 80))
    except OSError:
        raise InvalidWebhookUrl("the host name does not resolve", host=host) from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        check_address(address, allow_private=allow_private, allow_loopback=allow_loopback)
    return url
