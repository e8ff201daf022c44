"""Which URLs a webhook may point at (server-side request forgery guard).

http(s) only. Link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10,
fd00:ec2::254, ...) are always refused; private, unique-local, shared and reserved ranges
unless `webhook_allow_private`; loopback unless `webhook_allow_loopback` (default: true in
development, so tests and `make run` work, false in production). Host names are resolved
and every address they resolve to must pass, at creation and again for each connection a
delivery makes, which goes to one of the addresses checked (`transport`).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import SplitResult, urlsplit

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
            raise InvalidWebhookUrl(
                "loopback addresses are refused (LEDGER_WEBHOOK_ALLOW_LOOPBACK)",
                address=str(address),
            )
        return
    if address.is_multicast or address.is_unspecified:
        raise InvalidWebhookUrl("not a unicast address", address=str(address))
    if not address.is_global and not allow_private:
        raise InvalidWebhookUrl(
            "private addresses are refused (LEDGER_WEBHOOK_ALLOW_PRIVATE)", address=str(address)
        )


#: one label of a host name (RFC 1123; underscores, which some DNS names carry, pass)
_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")


def check_url(url: str, *, allow_private: bool, allow_loopback: bool, resolve: bool = True) -> str:
    """The URL if a webhook may call it; `InvalidWebhookUrl` otherwise: a space or control
    character anywhere, a URL the deliveries' HTTP client cannot send to, or a host name that
    is not one (an empty or over-long label) are refused here, not at every delivery."""
    parts = _parts(url)
    host = parts.hostname
    assert host is not None  # `_parts` refused a URL without one
    if _address(host) is None:
        host = _host_name(host)
        if not resolve:
            return url
    port = parts.port or (443 if parts.scheme == "https" else 80)
    checked_addresses(host, port, allow_private=allow_private, allow_loopback=allow_loopback)
    return url


def _address(host: str) -> IpAddress | None:
    """`host` as an IP address, if it is one."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def checked_addresses(
    host: str, port: int, *, allow_private: bool, allow_loopback: bool
) -> list[str]:
    """The addresses to connect to for `host` (an address, or a host name resolved now), each
    one checked (`check_address`), in the resolver's order without repeats; `InvalidWebhookUrl`
    if any is refused or the name does not resolve. The deliveries connect only to these
    (`transport`): a name resolved again to connect could answer another address than the one
    checked (DNS rebinding)."""
    literal = _address(host)
    if literal is not None:
        check_address(literal, allow_private=allow_private, allow_loopback=allow_loopback)
        return [host]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise InvalidWebhookUrl("the host name does not resolve", host=host) from None
    addresses: list[str] = []
    for info in infos:
        text = str(info[4][0])
        check_address(
            ipaddress.ip_address(text.split("%")[0]),
            allow_private=allow_private,
            allow_loopback=allow_loopback,
        )
        if text not in addresses:
            addresses.append(text)
    if not addresses:
        raise InvalidWebhookUrl("the host name does not resolve", host=host)
    return addresses


def _parts(url: str) -> SplitResult:
    """`url` split, if it is one a webhook may take before its host is looked at: no space or
    control character, one the deliveries' HTTP client parses too, http(s) with a host, a port
    of 1 to 65535 if any, no credentials; `InvalidWebhookUrl` otherwise."""
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in url):
        raise InvalidWebhookUrl("the URL has a space or a control character")
    import httpx  # here: the HTTP process loads it with a webhook's first endpoint only

    try:
        parts = urlsplit(url)
        port = parts.port
        httpx.URL(url)  # what each delivery parses (it refused some URLs urlsplit takes)
    except (ValueError, httpx.InvalidURL) as exc:  # idna's errors are ValueErrors
        raise InvalidWebhookUrl(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidWebhookUrl("the URL must be http:// or https:// with a host")
    if port == 0:  # no server listens there: every delivery would fail until dead
        raise InvalidWebhookUrl("the URL's port must be 1 to 65535")
    if parts.username or parts.password:
        raise InvalidWebhookUrl("credentials in the URL are refused")
    return parts


def _host_name(host: str) -> str:
    """`host` in ASCII (IDNA) if it is a host name: labels of 1 to 63 letters, digits,
    hyphens and underscores, 253 characters at most; `InvalidWebhookUrl` otherwise."""
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidWebhookUrl("not a valid host name", host=host[:253]) from None
    name = ascii_host.removesuffix(".")  # a fully qualified name's final dot
    if not name or len(name) > 253 or not all(_LABEL.fullmatch(p) for p in name.split(".")):
        raise InvalidWebhookUrl("not a valid host name", host=host[:253])
    return ascii_host
