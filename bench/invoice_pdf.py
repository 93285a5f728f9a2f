"""CPU time to draw one invoice PDF (fpdf2 + HarfBuzz shaping + font subsetting), per
language / regime. No database: the snapshot is the one the PDF tests use.

    .venv/bin/python bench/invoice_pdf.py [--n 20] [--vary]

``--vary`` draws a different invoice each time (number, order, buyer name and email,
prices and totals), as a shop does, after as many other invoices: the per-process caches
of texts and shaped runs then only help with what really repeats (labels, seller, product
names, some names and prices).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import django  # noqa: E402

import bench.common  # noqa: E402,F401 - settings module and test secrets

FIRST = ("Jonas", "Élodie", "Łukasz", "Ana María", "Sven", "سارة", "محمد", "Chloé", "Björn", "Zoë",
         "Noor", "Kenji")  # fmt: skip
LAST = ("Becker", "Marchand", "Nowak", "Núñez", "Øberg", "العتيبي", "القحطاني", "O'Neill",
        "Åström", "van Dijk", "Haddad")  # fmt: skip


def snapshot_varied(*, snapshot: dict, index: int) -> dict:
    """``snapshot`` as another order would have it: its own number, buyer and amounts."""
    snapshot = dict(snapshot, number=f"{snapshot['number'][:-6]}{index + 100:06d}",
                    order_number=f"KS-{index * 7919 % 10**8:08d}")  # fmt: skip
    name = f"{FIRST[index % len(FIRST)]} {LAST[index * 7 % len(LAST)]}"
    snapshot["buyer"] = dict(snapshot["buyer"], name=name, email=f"buyer{index}@example.com")
    step = Decimal(index % 97) / 100
    lines = []
    for line in snapshot["lines"]:
        unit = Decimal(line["unit_price"]) + step
        gross = unit * int(line["quantity"]) - Decimal(line["discount"])
        rate = Decimal(line["rate"])
        net = (gross * 100 / (100 + rate)).quantize(Decimal("0.01"))
        lines.append(dict(line, unit_price=str(unit), gross=str(gross), net=str(net),
                          tax=str(gross - net)))  # fmt: skip
    snapshot["lines"] = lines
    gross = sum(Decimal(line["gross"]) for line in lines)
    net = sum(Decimal(line["net"]) for line in lines)
    snapshot["totals"] = dict(snapshot["totals"], gross=str(gross), net=str(net),
                              tax=str(gross - net))  # fmt: skip
    snapshot["rates"] = [dict(snapshot["rates"][0], gross=str(gross), net=str(net),
                              tax=str(gross - net))]  # fmt: skip
    return snapshot


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--vary", action="store_true", help="a different invoice each time")
    args = parser.parse_args()
    django.setup()
    from invoices.pdf import document_pdf_render
    from tests.invoices.snapshots import snapshot_sample

    results = {}
    for name, regime, language in (("en", "oss", "en"), ("fr", "oss", "fr"), ("ar", "oss", "ar"),
                                   ("ksa", "ksa", "ar")):  # fmt: skip
        snapshot = snapshot_sample(regime=regime, language=language)
        document_pdf_render(snapshot=snapshot)  # warm: imports, gettext catalogs
        if args.vary:  # warm on other invoices: a shop's process has drawn some before
            for index in range(args.n, 2 * args.n):
                document_pdf_render(snapshot=snapshot_varied(snapshot=snapshot, index=index))
        snapshots = [
            snapshot_varied(snapshot=snapshot, index=index) if args.vary else snapshot
            for index in range(args.n)
        ]
        # each language starts from a collected heap: a full collection of the whole
        # Django process (60-90 ms, mostly Django's own objects) is not the PDF's cost
        gc.collect()
        start = time.process_time()
        for each in snapshots:
            size = len(document_pdf_render(snapshot=each))
        results[name] = ((time.process_time() - start) / args.n * 1000, size)
        print(f"{name}: {results[name][0]:.1f} ms CPU per PDF, {size} bytes")
    print("RESULT " + ("vary=1 " if args.vary else "")
          + " ".join(f"pdf_cpu_ms_{k}={v[0]:.1f}" for k, v in results.items()))  # fmt: skip


if __name__ == "__main__":
    main()
