"""server.trusted_proxies: exact addresses and CIDR networks; everything else is no proxy."""

from __future__ import annotations

import pytest

from idp.settings import SettingsError, load_settings
from idp.web.proxies import TrustedProxies, apply_forwarded


def _scope(peer: str) -> dict[str, object]:
    headers = [(b"x-forwarded-for", b"203.0.113.9"), (b"x-forwarded-proto", b"https")]
    return {"type": "http", "client": (peer, 5000), "headers": headers, "scheme": "http"}


@pytest.mark.parametrize(
    ("peer", "trusted"),
    [
        ("10.0.0.10", True),  # the exact address
        ("10.42.7.3", True),  # inside the ingress pods' network
        ("10.43.0.1", False),
        ("fd00::1", True),
        ("fe80::1", False),
        ("testclient", False),  # not an address at all
        ("", False),
    ],
)
def test_a_peer_is_trusted_only_at_a_listed_address_or_inside_a_listed_network(
    peer: str, trusted: bool
) -> None:
    proxies = TrustedProxies(["10.0.0.10", "10.42.0.0/16", "fd00::/8"])
    assert (peer in proxies) is trusted
    assert (peer in proxies) is trusted  # remembered, same answer
    scope = _scope(peer)
    apply_forwarded(scope, proxies)
    state = scope["state"]
    assert isinstance(state, dict)
    assert state["from_proxy"] is trusted
    assert scope["client"] == (("203.0.113.9", 0) if trusted else (peer, 5000))
    assert scope["scheme"] == ("https" if trusted else "http")


def test_no_proxies_trust_nobody() -> None:
    proxies = TrustedProxies([])
    assert not proxies
    assert "127.0.0.1" not in proxies


@pytest.mark.parametrize("entry", ["10.0.0.1/8", "nginx", "10.0.0.300", "10.0.0.0/33"])
def test_a_mistyped_entry_stops_the_settings_with_its_name(entry: str) -> None:
    with pytest.raises(SettingsError, match=r"server\.trusted_proxies: .*not an IP address"):
        load_settings(files=[], server={"trusted_proxies": [entry]})
