"""The client's IP is read one way: REMOTE_ADDR unless a proxy is declared in front."""

import pytest
from django.test import RequestFactory

from core.http import client_ip_get


def _request(remote: str, forwarded: str | None = None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


def test_without_a_declared_proxy_a_forwarded_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXIES = 0, []
    assert client_ip_get(request=_request("203.0.113.7", "6.6.6.6")) == "203.0.113.7"


def test_behind_one_proxy_the_address_it_appended_is_the_client(settings):
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXIES = 1, []
    assert client_ip_get(request=_request("127.0.0.1", "127.0.0.2")) == "127.0.0.2"


def test_a_client_cannot_forge_its_address_through_the_proxy(settings):
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXIES = 1, []
    # The client sent "X-Forwarded-For: 6.6.6.6"; nginx appended the real peer.
    assert client_ip_get(request=_request("127.0.0.1", "6.6.6.6, 127.0.0.3")) == "127.0.0.3"


def test_declared_proxy_networks_are_skipped_from_the_right(settings):
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXIES = 0, ["10.0.0.0/8"]
    got = client_ip_get(request=_request("10.0.0.2", "6.6.6.6, 198.51.100.4, 10.0.0.9"))
    assert got == "198.51.100.4"


def test_a_request_not_from_a_declared_proxy_keeps_its_own_address(settings):
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXIES = 0, ["10.0.0.0/8"]
    assert client_ip_get(request=_request("198.51.100.9", "6.6.6.6")) == "198.51.100.9"


@pytest.mark.parametrize("header", ["", "not-an-ip", "  ,  "])
def test_a_missing_or_garbled_header_falls_back_to_the_peer(settings, header):
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXIES = 1, []
    assert client_ip_get(request=_request("127.0.0.1", header)) in {"127.0.0.1"}


def test_ipv6_and_ports_are_normalised(settings):
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXIES = 1, []
    assert client_ip_get(request=_request("::1", "[2001:db8::1]:443")) == "2001:db8::1"
    assert client_ip_get(request=_request("::1", "192.0.2.1:5678")) == "192.0.2.1"
