#!/usr/bin/env python
"""Benchmark: import generated key codes into PostgreSQL through the real path, beside its floor.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/keystore_bench \
        .venv/bin/python bench/import_keys.py [--keys 1000000] [--rounds 1]

Two measurements per round, each in a fresh Python process on a fresh database:

* **import**: `keys.services.key_import` (format check, fingerprint, in-file and in-stock
  duplicate checks, Fernet encryption, COPY, one all-or-nothing transaction), after a
  1,000-key warm-up import;
* **floor**: the same Fernet encryption and HMAC with `cryptography`/`hmac` directly and one
  streaming psycopg COPY into the same keys_key table (same indexes, constraints and
  foreign keys), committed: what storing these rows costs with no Django and no checks.

The bench database is ``<name of DATABASE_URL's database>_keys``: migrated once and kept as
a template; every measurement runs on a copy made from it (CREATE DATABASE ... TEMPLATE)
that is dropped afterwards, so each starts from an empty inventory and nothing needs
deleting row by row. DATABASE_URL's own database is not touched.

Memory is the real thing, per measurement: the process's peak resident set
(``getrusage(RUSAGE_SELF).ru_maxrss`` of that fresh process, Django and all) and the
growth of the PostgreSQL backend serving it (its private memory, RssAnon in
/proc/<pid>/status, sampled every 0.1 s, peak minus start; shared buffers the backend
touches are not its growth). Last line:

    RESULT name=import keys=... ratio=... keys_per_s=... floor_keys_per_s=... peak_rss_mb=...
           pg_backend_growth_mb=... floor_peak_rss_mb=... floor_pg_backend_growth_mb=... load=...

ratio = import keys/s / floor keys/s of the same round (1.0 = as fast as the floor; the
median over --rounds). The machine's load average is printed with each measurement: other
processes on the cores move both numbers, the ratio much less.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import threading
import time

from common import database_url_get  # noqa: E402 (sets up sys.path)

ALPHABET = "BCDFGHJKMPQRTVWXY2346789"
KEY_FORMAT = r"^[A-Z0-9]{5}(-[A-Z0-9]{5}){4}$"
WARM_UP = 1000


def codes(count: int, seed: int):
    """Random 5x5 product keys, generated on the fly (never a list in memory)."""
    rng = random.Random(seed)
    for _ in range(count):
        chars = rng.choices(ALPHABET, k=25)
        yield "-".join("".join(chars[i : i + 5]) for i in range(0, 25, 5))


# --------------------------------------------------------------------------- databases


def _admin():
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(database_url_get())
    return psycopg.connect(
        host=cfg["HOST"] or None,
        port=cfg["PORT"] or None,
        user=cfg["USER"] or None,
        password=cfg["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


def _url_with_name(name: str) -> str:
    url = database_url_get()
    return url.rsplit("/", 1)[0] + "/" + name


def _bench_names() -> tuple[str, str]:
    import dj_database_url

    base = dj_database_url.parse(database_url_get())["NAME"]
    return f"{base}_keys", f"{base}_keys_run"


def template_ready(name: str) -> None:
    """The template database exists and is migrated (a child process runs migrate)."""
    with _admin() as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": _url_with_name(name)}
    subprocess.run([sys.executable, __file__, "--child", "migrate"], env=env, check=True)


def copy_fresh(*, template: str, name: str) -> None:
    with _admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def drop(name: str) -> None:
    with _admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


# --------------------------------------------------------------------------- one measurement


def _proc_kb(pid: int | str, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class BackendSampler:
    """Peak private memory (RssAnon) of one PostgreSQL backend, sampled in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid, self.start_kb = pid, _proc_kb(pid, "RssAnon")
        self.peak_kb, self.stop = self.start_kb, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.1):
            self.peak_kb = max(self.peak_kb, _proc_kb(self.pid, "RssAnon"))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        self.peak_kb = max(self.peak_kb, _proc_kb(self.pid, "RssAnon"))

    @property
    def growth_mb(self) -> float:
        return max(0, self.peak_kb - self.start_kb) / 1024


def _seed():
    """A product, a supplier and batches in the fresh database."""
    from common import bench_product_new

    from keys.models import KeyBatch, Supplier

    product = bench_product_new(label="Bench key", key_format=KEY_FORMAT)
    supplier = Supplier.objects.create(name="Bench supplier")
    return product, [
        KeyBatch.objects.create(supplier=supplier, product=product, cost_per_key="1.00")
        for _ in range(2)
    ]


def floor_run(*, count: int, seed: int, product_id: int, batch_id: int) -> float:
    """Encrypt + fingerprint + one streaming COPY into keys_key, then COMMIT: psycopg and
    cryptography only. The same table as the real import, so the same indexes, constraints
    and foreign keys apply."""
    import hashlib
    import hmac

    from cryptography.fernet import Fernet, MultiFernet
    from django.conf import settings
    from django.db import connection

    fernet = MultiFernet([Fernet(k.encode()) for k in settings.KEY_ENCRYPTION_KEYS])
    secret = settings.KEY_FINGERPRINT_SECRET.encode()
    raw = connection.connection  # the psycopg connection itself
    columns = "product_id, batch_id, status, ciphertext, fingerprint, last4, import_line, status_changed_at, created_at"
    started = time.perf_counter()
    with raw.cursor() as cur, cur.copy(f"COPY keys_key ({columns}) FROM STDIN") as copy:
        now = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime())
        for number, code in enumerate(codes(count, seed), start=1):
            normal = code.replace("-", "").upper()
            copy.write_row(
                (
                    product_id,
                    batch_id,
                    "available",
                    fernet.encrypt(code.encode()).decode(),
                    hmac.new(secret, normal.encode(), hashlib.sha256).hexdigest(),
                    normal[-4:],
                    number,
                    now,
                    now,
                )
            )
    raw.commit()
    return time.perf_counter() - started


def child(mode: str, keys: int, seed: int) -> None:
    """One measurement in this fresh process; prints one JSON line."""
    os.environ.pop("REDIS_URL", None)  # the stock check after the import runs in-process
    import django

    django.setup()
    if mode == "migrate":
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        return
    from django.db import connection

    from keys.services import key_import

    product, (batch, spare) = _seed()
    if mode == "import":  # warm-up: modules, regex, translations, first COPY
        report = key_import(
            product=product, batch=spare, lines=codes(WARM_UP, seed + 1), source_name="warm-up"
        )
        assert report.ok, report.message
    connection.ensure_connection()  # autocommit: the floor's COPY is its own transaction
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    rss_before = _proc_kb("self", "VmRSS") / 1024
    with BackendSampler(backend) as sampler:
        started = time.perf_counter()
        if mode == "import":
            report = key_import(
                product=product, batch=batch, lines=codes(keys, seed), source_name="bench"
            )
            assert report.ok and report.imported == keys, report.message
            seconds = time.perf_counter() - started
        else:
            seconds = floor_run(count=keys, seed=seed, product_id=product.pk, batch_id=batch.pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM keys_key WHERE batch_id = %s", [batch.pk])
        stored = cursor.fetchone()[0]
    assert stored == keys, (stored, keys)
    connection.close()
    print(
        json.dumps(
            {
                "mode": mode,
                "seconds": seconds,
                "rss_before_mb": rss_before,
                # Linux reports ru_maxrss in kB: the peak of this whole process.
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "pg_backend_growth_mb": sampler.growth_mb,
            }
        )
    )


def measure(*, mode: str, keys: int, seed: int, template: str, name: str) -> dict:
    copy_fresh(template=template, name=name)
    try:
        env = {**os.environ, "DATABASE_URL": _url_with_name(name)}
        load = os.getloadavg()[0]
        done = subprocess.run(
            [sys.executable, __file__, "--child", mode, "--keys", str(keys), "--seed", str(seed)],
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            sys.exit(f"the {mode} measurement failed:\n{done.stderr[-4000:]}")
        out = done.stdout
    finally:
        drop(name)
    result = json.loads(out.strip().splitlines()[-1])
    result["load"] = (load + os.getloadavg()[0]) / 2
    rate = keys / result["seconds"]
    print(
        f"{mode:6}: {keys} keys in {result['seconds']:.2f} s = {rate:,.0f} keys/s, "
        f"peak RSS {result['peak_rss_mb']:.0f} MB (before the run {result['rss_before_mb']:.0f}), "
        f"PostgreSQL backend +{result['pg_backend_growth_mb']:.1f} MB, "
        f"load average {result['load']:.1f}",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1, help="floor + import pairs")
    parser.add_argument("--child", choices=["migrate", "import", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.keys, args.seed)
        return
    template, name = _bench_names()
    template_ready(template)
    rounds = []
    for _ in range(args.rounds):
        seed = int(time.time() * 1000)
        floor = measure(mode="floor", keys=args.keys, seed=seed, template=template, name=name)
        real = measure(mode="import", keys=args.keys, seed=seed, template=template, name=name)
        rounds.append((floor, real))
        print(f"round ratio {floor['seconds'] / real['seconds']:.2f}", flush=True)

    def med(items, key):
        return statistics.median(item[key] for item in items)

    floors, imports = [f for f, _ in rounds], [r for _, r in rounds]
    ratio = statistics.median(f["seconds"] / r["seconds"] for f, r in rounds)
    print(
        f"RESULT name=import keys={args.keys} ratio={ratio:.2f} "
        f"keys_per_s={args.keys / med(imports, 'seconds'):.0f} "
        f"floor_keys_per_s={args.keys / med(floors, 'seconds'):.0f} "
        f"peak_rss_mb={max(r['peak_rss_mb'] for r in imports):.0f} "
        f"pg_backend_growth_mb={max(r['pg_backend_growth_mb'] for r in imports):.1f} "
        f"floor_peak_rss_mb={max(f['peak_rss_mb'] for f in floors):.0f} "
        f"floor_pg_backend_growth_mb={max(f['pg_backend_growth_mb'] for f in floors):.1f} "
        f"rounds={args.rounds} load={med([*floors, *imports], 'load'):.1f}"
    )


if __name__ == "__main__":
    main()
