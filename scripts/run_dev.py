"""`make run`: the development server, a Celery worker and Celery beat, together.

No services needed: the three processes share kombu's filesystem transport (messages are
files under ``var/celery-broker/``), so the scheduled jobs (undelivered-order sweeper,
stale-hold alerts, backorder refunds, claim escalations) really run, and tasks queued by
a page go through the worker like in production. Ctrl-C stops all three; if any of them
exits, the others are stopped too.

    python scripts/run_dev.py [--addr 127.0.0.1:8000] [--noreload]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# kombu's filesystem transport; settings.py puts its folders under var/celery-broker.
DEV_BROKER_URL = "filesystem://localhost//"


def _stop(processes: dict[str, subprocess.Popen], *, grace: float = 10.0) -> None:
    for process in processes.values():
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)  # the child and anything it forked
    deadline = time.monotonic() + grace
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def site_env_for(*, addr: str, env: dict[str, str]) -> dict[str, str]:
    """``SITE_URL`` (and the host allowed) for the address runserver listens on, so the
    links in emails open the shop being run; an explicit SITE_URL is kept.

    ``8080`` and ``0.0.0.0:8080`` (every interface) are served at 127.0.0.1:8080."""
    host, _, port = addr.rpartition(":") if ":" in addr else ("", "", addr)
    host = host.strip("[]")
    if host in ("", "0.0.0.0", "::", "0"):  # noqa: S104 (a comparison, not a bind)
        host = "127.0.0.1"
    extra: dict[str, str] = {}
    if not env.get("SITE_URL"):
        shown = f"[{host}]" if ":" in host else host
        extra["SITE_URL"] = f"http://{shown}:{port or '8000'}"
    if env.get("ALLOWED_HOSTS") and host not in env["ALLOWED_HOSTS"].split(","):
        extra["ALLOWED_HOSTS"] = f"{env['ALLOWED_HOSTS']},{host}"
    elif not env.get("ALLOWED_HOSTS") and host not in ("127.0.0.1", "localhost"):
        extra["ALLOWED_HOSTS"] = f"127.0.0.1,localhost,{host}"
    return extra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addr", default="127.0.0.1:8000")
    parser.add_argument("--noreload", action="store_true")
    args = parser.parse_args(argv)

    var_dir = Path(os.environ.get("KEYSTORE_VAR_DIR") or ROOT / "var")
    var_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if not env.get("REDIS_URL") and not env.get("CELERY_BROKER_URL"):
        env["CELERY_BROKER_URL"] = DEV_BROKER_URL
    env.update(site_env_for(addr=args.addr, env=env))
    print(f"run_dev: the shop is at {env.get('SITE_URL')}", flush=True)
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "config"]
    commands = {
        "web": [python, "manage.py", "runserver", args.addr]
        + (["--noreload"] if args.noreload else []),
        "worker": celery
        + ["worker", "--loglevel", "INFO", "--pool", "solo", "--without-mingle"]
        + ["--without-gossip", "--without-heartbeat"],
        "beat": celery
        + ["beat", "--loglevel", "INFO", "--schedule", str(var_dir / "celerybeat-schedule")],
    }
    processes: dict[str, subprocess.Popen] = {}

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        for name, command in commands.items():
            processes[name] = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
            print(f"run_dev: started {name} (pid {processes[name].pid})", flush=True)
        while True:
            for name, process in processes.items():
                if process.poll() is not None:
                    print(f"run_dev: {name} exited ({process.returncode}); stopping", flush=True)
                    return process.returncode or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("run_dev: stopping web, worker and beat", flush=True)
        return 0
    finally:
        _stop(processes)


if __name__ == "__main__":
    sys.exit(main())
