#!/usr/bin/env python
"""Benchmark: import 100,000 generated key codes into PostgreSQL through the real path.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/keystore_bench .venv/bin/python bench/import_keys.py

Creates the database if it is missing and migrates it. Runs `keys.services.key_import`
(format check, fingerprint, in-file and in-stock duplicate checks, Fernet encryption,
bulk insert, all in one transaction), then the raw floor in the same run: the same
encryption and fingerprint with `cryptography` and `hmac` directly and psycopg COPY into a
plain table shaped like keys_key, with no Django in between. Prints both rates and ends
with one line:

    RESULT keys=100000 seconds=... ratio_to_floor=... peak_mb=...

ratio_to_floor = floor seconds / import seconds (1.0 = as fast as the floor); peak_mb is
how far the process's resident memory rose above its level at the start of the import
(Linux peak-RSS mark, reset just before). The import streams, so it stays flat whatever
the number of keys. The bench's rows are
deleted afterwards (--keep to keep them).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import random
import time

from common import bench_product_new, django_ready  # noqa: E402 (sets up sys.path)

os.environ.pop("REDIS_URL", None)  # the stock check runs in-process

ALPHABET = "BCDFGHJKMPQRTVWXY2346789"
KEY_FORMAT = r"^[A-Z0-9]{5}(-[A-Z0-9]{5}){4}$"


def codes(count: int, seed: int):
    """Random 5x5 product keys, generated on the fly (never a list in memory)."""
    rng = random.Random(seed)
    for _ in range(count):
        chars = rng.choices(ALPHABET, k=25)
        yield "-".join("".join(chars[i : i + 5]) for i in range(0, 25, 5))


def proc_status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def peak_reset() -> int:
    """Reset the kernel's peak-RSS mark (Linux) and return the current RSS in kB."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass  # older kernels: VmHWM then covers the whole process, an overestimate
    return proc_status_kb("VmRSS")


def floor_run(*, count: int, seed: int, product_id: int, batch_id: int) -> float:
    """Encrypt + fingerprint + COPY into keys_key itself, with psycopg and cryptography only.

    The same table as the real import, so the same indexes, constraints and foreign keys
    apply: the floor is what storing these rows costs with no Django and no checks.
    """
    from cryptography.fernet import Fernet, MultiFernet
    from django.conf import settings
    from django.db import connection

    fernet = MultiFernet([Fernet(k.encode()) for k in settings.KEY_ENCRYPTION_KEYS])
    secret = settings.KEY_FINGERPRINT_SECRET.encode()
    connection.ensure_connection()
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the imported bench keys")
    args = parser.parse_args()
    django_ready()
    from django.db import connection

    from keys.models import Key, KeyBatch, KeyImport, Supplier
    from keys.services import key_import

    run = int(time.time() * 1000)
    product = bench_product_new(label="Bench key", key_format=KEY_FORMAT)
    supplier, _ = Supplier.objects.get_or_create(name="Bench supplier")
    batch = KeyBatch.objects.create(supplier=supplier, product=product, cost_per_key="1.00")
    warm = KeyBatch.objects.create(supplier=supplier, product=product, cost_per_key="1.00")
    floor_batch = KeyBatch.objects.create(supplier=supplier, product=product, cost_per_key="1.00")
    seed = run

    try:
        report = key_import(
            product=product, batch=warm, lines=codes(1000, seed + 1), source_name="warm-up"
        )
        assert report.ok, report.message
        floor = floor_run(
            count=args.keys, seed=seed + 2, product_id=product.pk, batch_id=floor_batch.pk
        )
        rss_before = peak_reset()
        started = time.perf_counter()
        report = key_import(
            product=product, batch=batch, lines=codes(args.keys, seed), source_name="bench"
        )
        seconds = time.perf_counter() - started
        peak_kb = proc_status_kb("VmHWM")
        assert report.ok and report.imported == args.keys, report.message
        peak_mb = max(0, peak_kb - rss_before) / 1024
    finally:
        if not args.keep:
            Key.objects.filter(product=product).delete()
            KeyImport.objects.filter(product=product).delete()
            KeyBatch.objects.filter(product=product).delete()
            product.delete()
        connection.close()

    print(
        f"key_import (real path): {args.keys} keys in {seconds:.2f} s = {args.keys / seconds:,.0f} keys/s"
    )
    print(
        f"raw floor (COPY):       {args.keys} keys in {floor:.2f} s = {args.keys / floor:,.0f} keys/s"
    )
    print(
        f"RESULT keys={args.keys} seconds={seconds:.2f} ratio_to_floor={floor / seconds:.2f} peak_mb={peak_mb:.1f}"
    )


if __name__ == "__main__":
    main()
