"""CPU time to draw one invoice PDF (fpdf2 + HarfBuzz shaping + font subsetting), per
language / regime. No database: the snapshot is the one the PDF tests use.

    .venv/bin/python bench/invoice_pdf.py [--n 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import django  # noqa: E402

import bench.common  # noqa: E402,F401 - settings module and test secrets


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20)
    args = parser.parse_args()
    django.setup()
    from invoices.pdf import document_pdf_render
    from tests.invoices.snapshots import snapshot_sample

    results = {}
    for name, regime, language in (("en", "oss", "en"), ("fr", "oss", "fr"), ("ar", "oss", "ar"),
                                   ("ksa", "ksa", "ar")):  # fmt: skip
        snapshot = snapshot_sample(regime=regime, language=language)
        document_pdf_render(snapshot=snapshot)  # warm: imports, gettext catalogs
        start = time.process_time()
        for _ in range(args.n):
            size = len(document_pdf_render(snapshot=snapshot))
        results[name] = ((time.process_time() - start) / args.n * 1000, size)
        print(f"{name}: {results[name][0]:.0f} ms CPU per PDF, {size} bytes")
    print("RESULT " + " ".join(f"pdf_cpu_ms_{k}={v[0]:.0f}" for k, v in results.items()))


if __name__ == "__main__":
    main()
