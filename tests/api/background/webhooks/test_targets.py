"""Which URLs a webhook endpoint may have (issue 12: no link-local, metadata or, unless
allowed, private targets)."""

from __future__ import annotations

import pytest

from ledger_api.background.webhooks.targets import check_url
from ledger_api.errors import InvalidWebhookUrl

ALWAYS_REFUSED = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[fe80::1]/",
    "http://100.100.100.200/",
    "file:///etc/passwd",
    "gopher://example.com/",
    "http://user:pass@example.com/",
    "http://0.0.0.0/",
]
#: a trial's: host names that are not one (getaddrinfo's IDNA encoding raised: 500), and
#: URLs the deliveries' HTTP client refuses (accepted, then retried for good, never recorded)
MALFORMED = [
    "http://a..b/",
    "http://.:80/",
    "http://" + "a" * 300 + ".com/",
    "http://-shop.example.com/",
    "http://exa%20mple.com/",
    "http://127.0.0.1:18650/o\x00k",
    "http://127.0.0.1:18650/ok\r\nX-Injected: 1",
    " http://127.0.0.1:18650/ok",
    "http://127.0.0.1:18650/ok ",
    "http://127.0.0.1:18650/a\tb",
    "http://127.0.0.1:18650/\x7f",
    "http://localhost:0/hooks",  # no server listens on port 0
]
PRIVATE = ["http://10.0.0.1/", "http://172.16.5.4/", "http://192.168.1.1/", "http://[fc00::1]/"]
LOOPBACK = ["http://127.0.0.1:8080/hooks", "http://[::1]/", "http://localhost:9000/hooks"]


@pytest.mark.parametrize("url", ALWAYS_REFUSED)
def test_link_local_metadata_and_odd_urls_are_always_refused(url: str) -> None:
    with pytest.raises(InvalidWebhookUrl):
        check_url(url, allow_private=True, allow_loopback=True)


@pytest.mark.parametrize("url", PRIVATE)
def test_private_targets_need_the_operators_permission(url: str) -> None:
    with pytest.raises(InvalidWebhookUrl):
        check_url(url, allow_private=False, allow_loopback=True)
    assert check_url(url, allow_private=True, allow_loopback=False) == url


@pytest.mark.parametrize("url", LOOPBACK)
def test_loopback_is_allowed_only_when_configured(url: str) -> None:
    with pytest.raises(InvalidWebhookUrl):
        check_url(url, allow_private=False, allow_loopback=False)
    assert check_url(url, allow_private=False, allow_loopback=True) == url


def test_a_public_address_is_allowed() -> None:
    url = "https://93.184.215.14/hooks"
    assert check_url(url, allow_private=False, allow_loopback=False) == url


@pytest.mark.parametrize("url", MALFORMED)
@pytest.mark.parametrize("resolve", [True, False])
def test_a_malformed_url_or_host_name_is_refused_at_once(url: str, resolve: bool) -> None:
    with pytest.raises(InvalidWebhookUrl):
        check_url(url, allow_private=True, allow_loopback=True, resolve=resolve)


@pytest.mark.parametrize(
    "url", ["http://localhost./hooks", "http://shop_1.localhost/x", "http://münchen.localhost/"]
)
def test_host_names_in_any_spelling_dns_takes_pass(url: str) -> None:
    assert check_url(url, allow_private=True, allow_loopback=True, resolve=False) == url
