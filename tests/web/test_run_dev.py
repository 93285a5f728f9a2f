"""`make run` runs the scheduled jobs too: scripts/run_dev.py starts runserver, a real
Celery worker and beat on kombu's filesystem transport (no service), a task queued by
the application is executed by the worker process, and stopping the runner stops all."""

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(lines: list[str], needle: str, *, process, limit: float = 90.0) -> str:
    """The first output line containing ``needle``; fails when the process exits first."""

    def found() -> str | None:
        line = next((line for line in list(lines) if needle in line), None)
        if line is None and process.poll() is not None:
            raise AssertionError("the process exited")
        return line

    try:
        return wait_until(found, timeout=limit, what=repr(needle), interval=0.2)
    except AssertionError as exc:
        raise AssertionError(f"{needle!r} never appeared ({exc}):\n" + "".join(lines[-40:]))


def test_make_run_executes_queued_tasks_in_a_real_worker_and_stops_everything(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "KEYSTORE_ENV": "development",
        "KEYSTORE_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "PYTHONUNBUFFERED": "1",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run(manage + ["migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
    runner = subprocess.Popen(
        [sys.executable, "scripts/run_dev.py", "--addr", f"127.0.0.1:{free_port()}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(runner.stdout), daemon=True)
    reader.start()
    try:
        wait_for(lines, "ready.", process=runner)  # "celery@host ready."
        pids = [
            int(line.rsplit("pid ", 1)[1].rstrip(")\n"))
            for line in lines
            if line.startswith("run_dev: started")
        ]
        assert len(pids) == 3
        # The application queues a task the way a page does (the same broker settings the
        # runner gives the web process); it is not run here, in-process.
        queued = subprocess.run(
            manage
            + [
                "shell",
                "-c",
                "from django.conf import settings; assert not settings.CELERY_TASK_ALWAYS_EAGER;"
                "from orders.tasks import orders_sweep_undelivered_task as t; print(t.delay().id)",
            ],
            cwd=ROOT,
            env={**env, "CELERY_BROKER_URL": "filesystem://localhost//"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert queued.returncode == 0, queued.stderr
        task_id = queued.stdout.strip().splitlines()[-1]
        done = wait_for(
            lines, f"orders.tasks.orders_sweep_undelivered[{task_id}] succeeded", process=runner
        )
        assert "deliveries" in done
        assert any("beat: Starting" in line for line in lines)
    finally:
        runner.send_signal(signal.SIGINT)
        runner.wait(timeout=60)
        reader.join(timeout=10)
    assert runner.returncode == 0, "".join(lines[-40:])
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        raise AssertionError(f"process {pid} still running after the runner stopped")
