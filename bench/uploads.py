#!/usr/bin/env python
"""Benchmark: the site stays responsive while clients post huge images to claim drafts.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/keystore_bench \\
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/uploads.py

The attack this replays: four clients posting 5000x5000 PNGs to claim drafts held both
gunicorn workers for 52 s and pushed `/healthz` to 26 s. The bench creates and migrates
the database if needed, activates the novakeys preset, and seeds --clients customers, each
with a delivered order (one key). It starts gunicorn (--workers workers; gthread with 4
threads as bench/catalog.py runs it, or --worker-class sync as the Dockerfile does) on
loopback with PostgreSQL and TRUSTED_PROXY_COUNT=1, so each client can present its
own address in X-Forwarded-For like a proxy would write it. Each client signs in (a real
session), opens its claim draft (`/claims/new/<order>/`, for the CSRF token) and then, for
--seconds, posts the claim form's preview with --files screenshots per post, every one a
real, fully decodable 5000x5000 PNG (~75 kB compressed, 25 megapixels). Meanwhile one
prober requests `/healthz` every --probe-ms on a fresh connection. The same prober first
runs alone for a few seconds (`idle_health_p99_ms`). With REDIS_URL set, rate limits are
shared by both workers (without it each worker counts alone, so twice as many get through).

Ends with one line:
    RESULT name=uploads workers=... clients=... posts=... uploads=... uploads_refused=...
           pixel_refused=... rate_limited=... uploads_stored=... post_p50_ms=...
           post_p99_ms=... health_probes=... health_p50_ms=... health_p99_ms=...
           health_max_ms=... idle_health_p99_ms=...

Goal: health_p99_ms under 200 while the attack runs; uploads_stored=0.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import statistics
import struct
import subprocess
import threading
import time
import uuid
import zlib

from common import ROOT, bench_product_new, django_ready, free_port  # noqa: E402 (sys.path)


def png_blank(width: int, height: int) -> bytes:
    """A valid RGB PNG of width x height, compressed row by row (never all in memory)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    packer = zlib.compressobj(9)
    row = b"\0" + b"\x30\x60\x90" * width
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def seed(*, clients: int) -> list[dict]:
    """One signed-in customer per client with a delivered order: cookie, order, key."""
    from django.conf import settings
    from django.test import Client

    from config.celery import app
    from keys.models import Key
    from orders.services import order_hold_release
    from policies.services import preset_load
    from tests.factories import UserFactory, keys_create, order_delivered_new

    app.conf.task_always_eager = True  # deliver the seed orders in this process
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    preset_load(slug="novakeys", activate=True)
    product = bench_product_new(label="Bench Uploads")
    keys_create(product=product, count=clients)
    people = []
    for i in range(clients):
        user = UserFactory(email=f"uploads-{uuid.uuid4().hex[:12]}@bench.invalid")
        order = order_delivered_new(product=product, user=user)
        if order.status == "on_hold":  # the same test card and IP every run: velocity holds
            order = order_hold_release(order=order, actor=None, note="bench/uploads.py seed")
        key = Key.objects.get(order_line__order=order, status="delivered")
        browser = Client()
        browser.force_login(user)
        people.append(
            {
                "ip": f"198.51.100.{i + 1}",
                "session": browser.cookies[settings.SESSION_COOKIE_NAME].value,
                "order": order.number,
                "key": key.pk,
            }
        )
    return people


def multipart(fields: list[tuple[str, str]], files: list[tuple[str, str, bytes]]):
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    for name, filename, data in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: image/png\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def request(port: int, method: str, path: str, *, body=None, headers=None, timeout=120):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


def attacker(*, port: int, person: dict, png: bytes, files: int, deadline: float, out: dict):
    cookies = {"sessionid": person["session"]}
    forwarded = {"X-Forwarded-For": person["ip"]}
    url = f"/claims/new/{person['order']}/"

    def cookie_header() -> str:
        return "; ".join(f"{k}={v}" for k, v in cookies.items())

    status, headers, body = request(
        port, "GET", url, headers={"Cookie": cookie_header(), **forwarded}
    )
    if status != 200:
        raise SystemExit(f"claim draft page answered {status}")
    for name, value in headers:
        if name.lower() == "set-cookie" and value.startswith("csrftoken="):
            cookies["csrftoken"] = value.split(";", 1)[0].split("=", 1)[1]
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    fields = [
        ("csrfmiddlewaretoken", token),
        ("item", f"key-{person['key']}"),
        ("reason", "key_invalid"),
        ("failed_at", ""),
        ("description", "The key is refused (0xC004C003)."),
        ("preview", "1"),
    ]
    payload, content_type = multipart(
        fields, [("screenshots", f"screen-{i}.png", png) for i in range(files)]
    )
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        status, _headers, body = request(
            port,
            "POST",
            url,
            body=payload,
            headers={
                "Cookie": cookie_header(),
                "Content-Type": content_type,
                "Content-Length": str(len(payload)),
                **forwarded,
            },
        )
        elapsed = time.perf_counter() - start
        text = body.decode("utf-8", "replace")
        with out["lock"]:
            out["latencies"].append(elapsed)
            out["posts"] += 1
            out["uploads"] += files
            out["statuses"][status] = out["statuses"].get(status, 0) + 1
            out["pixel_refused"] += text.count("megapixels")
            out["rate_limited"] += int("Too many screenshots" in text or "most we accept" in text)


def prober(*, port: int, until: threading.Event, every: float, out: list[float]) -> None:
    while not until.is_set():
        start = time.perf_counter()
        status, _h, _b = request(port, "GET", "/healthz", timeout=60)
        if status != 200:
            raise SystemExit(f"/healthz answered {status}")
        out.append(time.perf_counter() - start)
        until.wait(max(0.0, every - (time.perf_counter() - start)))


def ms(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def wait_http(port: int, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if request(port, "GET", "/healthz", timeout=2)[0] == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--files", type=int, default=5, help="screenshots per post")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", choices=["gthread", "sync"], default="gthread")
    parser.add_argument("--probe-ms", type=float, default=50.0)
    parser.add_argument("--size", type=int, default=5000, help="width and height of each PNG")
    args = parser.parse_args()

    database_url = django_ready()
    from refunds.models import Evidence

    people = seed(clients=args.clients)
    png = png_blank(args.size, args.size)
    print(f"{args.clients} customers seeded; each PNG {args.size}x{args.size}, {len(png)} bytes")
    stored_before = Evidence.objects.count()

    # as bench/catalog.py: gthread workers (4 threads each); --worker-class sync as the
    # Dockerfile runs it, where a probe waits for a whole worker
    worker_class = ["-k", args.worker_class]
    if args.worker_class == "gthread":
        worker_class += ["--threads", "4"]
    port = free_port()
    env = {
        **os.environ,
        "KEYSTORE_ENV": "test",
        "DATABASE_URL": database_url,
        "DB_CONN_MAX_AGE": "60",
        "TRUSTED_PROXY_COUNT": "1",  # as behind one reverse proxy: X-Forwarded-For is the client
        "LOG_LEVEL": "ERROR",  # not a "Bad Request" line per refused post
        # rate-limit windows of earlier runs (same client IPs) must not carry over
        "CACHE_KEY_PREFIX": f"bench-uploads-{uuid.uuid4().hex[:8]}",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}",
         "-w", str(args.workers), *worker_class, "--timeout", "120", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        wait_http(port, timeout=30)
        idle: list[float] = []
        stop = threading.Event()
        probe = threading.Thread(
            target=prober, kwargs={"port": port, "until": stop, "every": args.probe_ms / 1000,
                                   "out": idle},
        )  # fmt: skip
        probe.start()
        time.sleep(3)
        stop.set()
        probe.join()

        results = {"lock": threading.Lock(), "latencies": [], "posts": 0, "uploads": 0,
                   "statuses": {}, "pixel_refused": 0, "rate_limited": 0}  # fmt: skip
        health: list[float] = []
        stop = threading.Event()
        probe = threading.Thread(
            target=prober, kwargs={"port": port, "until": stop, "every": args.probe_ms / 1000,
                                   "out": health},
        )  # fmt: skip
        deadline = time.perf_counter() + args.seconds
        attackers = [
            threading.Thread(
                target=attacker,
                kwargs={
                    "port": port,
                    "person": person,
                    "png": png,
                    "files": args.files,
                    "deadline": deadline,
                    "out": results,
                },
            )  # fmt: skip
            for person in people
        ]
        probe.start()
        for thread in attackers:
            thread.start()
        for thread in attackers:
            thread.join()
        stop.set()
        probe.join()
    finally:
        server.terminate()
        server.wait(timeout=20)

    stored = Evidence.objects.count() - stored_before
    uploads = results["uploads"]
    print(f"answers by status: {results['statuses']}")
    print(f"/healthz while idle: p99 {ms(idle, 99):.0f} ms over {len(idle)} probes; "
          f"under attack: p50 {ms(health, 50):.0f} ms, p99 {ms(health, 99):.0f} ms, "
          f"max {max(health) * 1000:.0f} ms over {len(health)} probes")  # fmt: skip
    print(
        f"RESULT name=uploads workers={args.workers} worker_class={args.worker_class} "
        f"clients={args.clients} "
        f"posts={results['posts']} uploads={uploads} uploads_refused={uploads - stored} "
        f"pixel_refused={results['pixel_refused']} rate_limited={results['rate_limited']} "
        f"uploads_stored={stored} post_p50_ms={ms(results['latencies'], 50):.0f} "
        f"post_p99_ms={ms(results['latencies'], 99):.0f} health_probes={len(health)} "
        f"health_p50_ms={ms(health, 50):.0f} health_p99_ms={ms(health, 99):.0f} "
        f"health_max_ms={max(health) * 1000:.0f} idle_health_p99_ms={ms(idle, 99):.0f}"
    )


if __name__ == "__main__":
    main()
