"""Who is asking: the client's IP address and user agent, read one way everywhere.

Behind a reverse proxy ``REMOTE_ADDR`` is the proxy's address; the client's is in
``X-Forwarded-For``, which any client can also write. The shop believes that header only
as far as it was told to:

- ``TRUSTED_PROXY_COUNT`` (``settings``, from the environment): how many proxies stand in
  front of the application, each appending the address it saw to ``X-Forwarded-For``;
- ``TRUSTED_PROXIES``: the proxies' addresses or networks; a request whose ``REMOTE_ADDR``
  is not one of them did not come through a proxy and its header is ignored.

With neither, ``REMOTE_ADDR`` is the client and forwarded headers are ignored. The chain
(``X-Forwarded-For`` hops, then ``REMOTE_ADDR``) is walked from the right, skipping the
declared proxies; the first address left is the client's. Anything a client forged sits
to the left of what the first trusted proxy appended, so it is never reached.

Every place that reads an IP (rate limits, fraud velocity, blocklist, key-view audit,
uploads, dispute evidence) calls :func:`client_ip_get`.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

USER_AGENT_MAX_LENGTH = 400


def _parse(value: str) -> str | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "192.0.2.1:5678"
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _is_trusted_proxy(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in ipaddress.ip_network(net, strict=False) for net in settings.TRUSTED_PROXIES)


def client_ip_get(*, request: HttpRequest) -> str | None:
    """The address of the client that sent ``request``, or None when it cannot be told."""
    remote = _parse(request.META.get("REMOTE_ADDR") or "")
    count: int = settings.TRUSTED_PROXY_COUNT
    networks: list[str] = settings.TRUSTED_PROXIES
    if remote is None or (not count and not networks):
        return remote
    if networks and not _is_trusted_proxy(remote):
        return remote  # not through a declared proxy: its headers prove nothing
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    chain = [h for h in (part.strip() for part in header.split(",")) if h] + [remote]
    index = len(chain) - 1
    skipped = 0
    while index > 0:
        address = _parse(chain[index])
        if address is None:
            break
        is_proxy = skipped < count if count else _is_trusted_proxy(address)
        if not is_proxy:
            break
        index -= 1
        skipped += 1
    return _parse(chain[index]) or remote


def user_agent_get(*, request: HttpRequest) -> str:
    """The client's user agent, cut to what the audit tables store."""
    return request.headers.get("User-Agent", "")[:USER_AGENT_MAX_LENGTH]
