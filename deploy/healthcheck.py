"""Container healthcheck for the web service: GET /readyz on the local gunicorn.

Sent as the proxy would send it (the shop's own host name, HTTPS already terminated), so
production's host check and HTTPS redirect answer as they do for real visitors. Exits 0
when the shop is ready (database, cache/broker and migrations in order), 1 otherwise.
"""

import os
import sys
import urllib.error
import urllib.request

PATH = os.environ.get("HEALTHCHECK_PATH", "/readyz")
host = (os.environ.get("ALLOWED_HOSTS", "") or "localhost").split(",")[0].strip().lstrip(".")
request = urllib.request.Request(
    f"http://127.0.0.1:8000{PATH}",
    headers={"Host": host or "localhost", "X-Forwarded-Proto": "https"},
)
try:
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310  (fixed URL)
        sys.exit(0 if response.status == 200 else 1)
except (urllib.error.URLError, OSError) as exc:
    print(f"not ready: {exc}", file=sys.stderr)
    sys.exit(1)
