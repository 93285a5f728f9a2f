"""The production stack on loopback, for the smoke test: every part real, every wait bounded.

    browser / HTTP clients --TLS--> nginx (Debian's package) --> gunicorn (KEYSTORE_ENV=production)
                                                                  |-- PostgreSQL (a fresh database)
    Stripe stand-in <-- the real stripe library                    |-- Redis (our own server)
    Stripe stand-in --signed webhooks through nginx-->             |-- Celery worker + beat
                                                                  `-- SMTP sink (key emails)

nginx proxies with the settings the deployment ships (``deploy/nginx/keystore-proxy.conf``:
forwarded headers, body size) and terminates TLS with a certificate made here for
127.0.0.1, rather than forging ``X-Forwarded-Proto: https`` over plain HTTP: production
cookies are ``Secure``, CSRF compares the browser's ``https://`` Origin with the host,
HSTS is only meaningful over TLS, and nginx's ``$scheme`` is what a real deployment
forwards. A second, plain-HTTP listener
forwards ``X-Forwarded-Proto: http`` so the HTTPS redirect can be seen too.

Secrets (Fernet keys, Django secret, fingerprint secret, webhook secret) are generated
for each run and never written outside the run's temporary directory.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests import waiting

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NGINX = os.environ.get("NGINX_PATH") or shutil.which("nginx") or "/usr/sbin/nginx"
REDIS_SERVER = os.environ.get("REDIS_SERVER_PATH") or shutil.which("redis-server") or ""
START_TIMEOUT = 90.0  # seconds any one part may take to come up on a loaded machine
STOP_TIMEOUT = 10.0


def smoke_database_url() -> str | None:
    """SMOKE_DATABASE_URL, else the suite's PostgreSQL server with a ``_smoke`` database."""
    url = os.environ.get("SMOKE_DATABASE_URL")
    if url:
        return url
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        return None
    parts = urlsplit(base)
    name = parts.path.lstrip("/") or "keystore"
    return urlunsplit(parts._replace(path=f"/{name}_smoke"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, what: str, interval: float = 0.2):
    """tests.waiting.wait_until, where any error means "not up yet"."""
    return waiting.wait_until(
        predicate, timeout=timeout, what=what, interval=interval, ignore=(Exception,)
    )


def certificate_make(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost, usable as its own trust anchor."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "keystore smoke 127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "tls.crt", directory / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def production_secrets() -> dict[str, str]:
    """Real-looking secrets, new for every run: two Fernet keys (rotation order), long randoms.

    Hex, so a random value can never spell one of the placeholder words the fail-closed
    checks refuse (``todo``, ``dummy``, ...).
    """
    from cryptography.fernet import Fernet

    return {
        "SECRET_KEY": secrets.token_hex(40),
        "KEY_ENCRYPTION_KEYS": ",".join(Fernet.generate_key().decode() for _ in range(2)),
        "KEY_FINGERPRINT_SECRET": secrets.token_hex(32),
        "STRIPE_SECRET_KEY": f"sk_test_{secrets.token_hex(24)}",
        "STRIPE_PUBLISHABLE_KEY": f"pk_test_{secrets.token_hex(24)}",
        "STRIPE_WEBHOOK_SECRET": f"whsec_{secrets.token_hex(24)}",
    }


NGINX_CONF = """\
# The smoke test's own nginx: its own prefix, pid, logs and temp paths; loopback only.
{user}worker_processes 1;
daemon off;
pid {run}/nginx.pid;
error_log {run}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {run}/nginx-access.log;
    client_body_temp_path {run}/nginx-tmp/body;
    proxy_temp_path {run}/nginx-tmp/proxy;
    fastcgi_temp_path {run}/nginx-tmp/fastcgi;
    uwsgi_temp_path {run}/nginx-tmp/uwsgi;
    scgi_temp_path {run}/nginx-tmp/scgi;

    upstream keystore_web {{ server 127.0.0.1:{app_port}; keepalive 4; }}

    # the proxy settings the Docker deployment ships (deploy/nginx/keystore-proxy.conf)
    server {{
        listen 127.0.0.1:{https_port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        include {proxy_conf};
    }}
    server {{
        listen 127.0.0.1:{http_port};
        include {proxy_conf};
    }}
}}
"""


@dataclass
class Stack:
    run: Path
    database_url: str
    env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)
    redis_port: int = 0
    app_port: int = 0
    https_port: int = 0
    http_port: int = 0
    cert: Path | None = None
    stripe: object = None
    smtp: object = None

    # --- addresses ---
    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    # --- processes ---
    def _spawn(self, name: str, argv: list[str], *, env: dict | None = None) -> subprocess.Popen:
        log = self.run / f"{name}.log"
        self.logs[name] = log
        handle = open(log, "ab")  # noqa: SIM115 - the child owns it
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env if env is not None else self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        handle.close()
        self.processes[name] = process
        return process

    def _alive(self, name: str) -> bool:
        process = self.processes[name]
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.log_tail(name)}")
        return True

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT)
        except ProcessLookupError:
            pass

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.logs.get(name)
        if path is None or not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def manage(self, *args: str, env: dict | None = None, timeout: float = 180, check=True):
        """Run ``manage.py`` as production would (a one-off process with the stack's env)."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env if env is not None else self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"manage.py {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def manage_parallel(self, *commands: list[str], timeout: float = 240) -> None:
        """Run independent ``manage.py`` one-offs side by side; all must succeed."""
        deadline = time.monotonic() + timeout
        procs = [
            (argv, subprocess.Popen(
                [sys.executable, "manage.py", *argv], cwd=ROOT, env=self.env,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            ))
            for argv in commands
        ]  # fmt: skip
        for argv, proc in procs:
            out, _ = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
            if proc.returncode != 0:
                raise RuntimeError(f"manage.py {' '.join(argv)} failed:\n{out[-4000:]}")

    # --- the parts ---
    def database_create(self) -> None:
        import psycopg

        parts = urlsplit(self.database_url)
        name = parts.path.lstrip("/")
        admin = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        """Read the shop's database directly (what staff would see in the admin)."""
        import psycopg

        with psycopg.connect(self.database_url, connect_timeout=10) as conn:
            return conn.execute(query, params).fetchall()

    def redis_start(self) -> None:
        self._spawn(
            "redis",
            [REDIS_SERVER, "--port", str(self.redis_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.run)],
        )  # fmt: skip

        def pong():
            self._alive("redis")
            with socket.create_connection(("127.0.0.1", self.redis_port), timeout=2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")

        wait_until(pong, timeout=START_TIMEOUT, what="redis-server")

    def environment(self, *, shop: dict[str, str]) -> dict[str, str]:
        keep = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TZ") if k in os.environ}
        (self.run / "var").mkdir(exist_ok=True)
        env = {
            **keep,
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "KEYSTORE_ENV": "production",
            "KEYSTORE_VAR_DIR": str(self.run / "var"),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "CSRF_TRUSTED_ORIGINS": self.base_url,
            "SITE_URL": self.base_url,
            "TRUSTED_PROXY_COUNT": "1",
            "STATIC_ROOT": str(self.run / "static"),
            "MEDIA_ROOT": str(self.run / "media"),
            "PRIVATE_MEDIA_ROOT": str(self.run / "private"),
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.smtp.port),
            "EMAIL_USE_TLS": "false",
            "STRIPE_API_BASE": self.stripe.url,
            "LOG_LEVEL": "INFO",
            **production_secrets(),
            **shop,
        }
        self.env = env
        return env

    def gunicorn_start(self) -> None:
        self._spawn(
            "gunicorn",
            [str(BIN / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{self.app_port}",
             "--workers", "2", "--timeout", "60", "--graceful-timeout", "5",
             "--access-logfile", "-", "--error-logfile", "-",
             "--control-socket", str(self.run / "gunicorn.ctl")],
        )  # fmt: skip

    def celery_start(self) -> None:
        celery = str(BIN / "celery")
        self._spawn(
            "worker",
            [celery, "-A", "config", "worker", "--pool", "solo", "--loglevel", "INFO",
             "--hostname", "smoke@%h", "--without-gossip", "--without-mingle"],
        )  # fmt: skip
        self._spawn(
            "beat",
            [celery, "-A", "config", "beat", "--loglevel", "INFO",
             "--schedule", str(self.run / "celerybeat-schedule")],
        )  # fmt: skip

    def ports_choose(self) -> None:
        self.redis_port, self.app_port = free_port(), free_port()
        self.https_port, self.http_port = free_port(), free_port()

    def nginx_start(self) -> None:
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.run / "nginx-tmp" / sub).mkdir(parents=True, exist_ok=True)
        conf = self.run / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(
                # as root nginx would hand its workers to "nobody", who cannot read our run dir
                user="user root root;\n" if os.geteuid() == 0 else "",
                run=self.run,
                proxy_conf=ROOT / "deploy" / "nginx" / "keystore-proxy.conf",
                app_port=self.app_port,
                https_port=self.https_port,
                http_port=self.http_port,
                cert=self.cert,
                key=self.run / "tls.key",
            )
        )
        check = subprocess.run(
            [NGINX, "-t", "-p", str(self.run), "-c", str(conf), "-e", str(self.run / "nginx-error.log")],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t refused the config:\n{check.stderr}")
        self._spawn(
            "nginx",
            [NGINX, "-p", str(self.run), "-c", str(conf), "-e", str(self.run / "nginx-error.log")],
        )
        self.logs["nginx-error"] = self.run / "nginx-error.log"

    def https_ready(self) -> None:
        """Wait until a page answers through nginx (gunicorn has booted its workers)."""
        import requests

        def up():
            self._alive("nginx")
            self._alive("gunicorn")
            response = requests.get(f"{self.base_url}/healthz", verify=str(self.cert), timeout=5)
            return response.status_code == 200

        wait_until(up, timeout=START_TIMEOUT, what="/healthz through nginx", interval=0.5)

    def stop_all(self) -> None:
        for name in ("nginx", "gunicorn", "beat", "worker", "redis"):
            self.stop(name)
