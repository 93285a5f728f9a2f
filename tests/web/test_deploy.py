"""What a merchant deploys: the image's static files work in production mode, compose
renders from a .env that names a real domain, and nothing local goes into the image.

No Docker engine runs here, so the image build is reproduced step by step: the
Dockerfile's own collectstatic line runs in a temporary STATIC_ROOT, then gunicorn serves
a page under production settings (the bug this guards against: every page answered 500
"Missing staticfiles manifest entry" because static files were collected in development
mode).
"""

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "shop.example.com"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _dockerfile_collectstatic() -> tuple[dict[str, str], list[str]]:
    """The environment and command of the Dockerfile's collectstatic step."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    [line] = [ln for ln in text.splitlines() if ln.startswith("RUN") and "collectstatic" in ln]
    words = shlex.split(line[len("RUN") :].split("&&")[0])
    env = {}
    while "=" in words[0]:
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    assert words[:2] == ["python", "manage.py"], words
    return env, [sys.executable, *words[1:]]


def _production_env(tmp_path: Path) -> dict[str, str]:
    from cryptography.fernet import Fernet

    return {
        "PATH": os.environ["PATH"],
        "KEYSTORE_ENV": "production",
        "KEYSTORE_VAR_DIR": str(tmp_path / "var"),
        "STATIC_ROOT": str(tmp_path / "static"),
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "SECRET_KEY": "k" + os.urandom(32).hex(),
        "KEY_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "KEY_FINGERPRINT_SECRET": os.urandom(32).hex(),
        "ALLOWED_HOSTS": DOMAIN,
        "TRUSTED_PROXY_COUNT": "1",
        "STRIPE_SECRET_KEY": "sk_live_" + os.urandom(12).hex(),
        "STRIPE_PUBLISHABLE_KEY": "pk_live_" + os.urandom(12).hex(),
        "STRIPE_WEBHOOK_SECRET": "whsec_" + os.urandom(16).hex(),
    }


def _run(command, env):
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_the_images_static_files_serve_a_production_page_with_200(tmp_path):
    env = _production_env(tmp_path)
    build_env, collectstatic = _dockerfile_collectstatic()
    # at build time no secret exists: only what the Dockerfile line itself sets
    secretless = {k: v for k, v in env.items() if k not in {"SECRET_KEY", "KEY_ENCRYPTION_KEYS"}}
    secretless.pop("KEY_FINGERPRINT_SECRET")
    _run(collectstatic, {**secretless, **build_env})
    assert (tmp_path / "static" / "staticfiles.json").exists()  # the manifest
    _run([sys.executable, "manage.py", "migrate", "--noinput"], env)

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application"]
        + ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def get(path):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}{path}",
                headers={"Host": DOMAIN, "X-Forwarded-Proto": "https"},  # as nginx sends
            )
            try:
                # the first page imports and renders everything once: on a loaded machine
                # that has taken more than 10 s
                with urllib.request.urlopen(request, timeout=60) as response:
                    return response.status, response.read().decode("utf-8", "replace")
            except urllib.error.HTTPError as exc:
                return exc.code, exc.read().decode("utf-8", "replace")

        def listening() -> bool:
            assert server.poll() is None, server.stdout.read()  # exited: no use waiting
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True

        wait_until(listening, timeout=30, what="gunicorn to listen", ignore=(OSError,))
        status, body = get("/")
        assert status == 200, body[:2000]
        stylesheet = re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', body)
        assert stylesheet, "pages must link the hashed (manifest) name"
        assert get(stylesheet.group(1))[0] == 200
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_build_time_static_flag_cannot_serve_or_run_anything_else(tmp_path):
    env = {**_production_env(tmp_path), "KEYSTORE_BUILD_STATIC": "1"}
    for command in (
        [sys.executable, "-c", "import config.wsgi"],
        [sys.executable, "manage.py", "migrate", "--noinput"],
    ):
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        assert result.returncode != 0
        assert "KEYSTORE_BUILD_STATIC is only for" in result.stderr


def _generated_env(tmp_path: Path) -> str:
    """.env.example with every blank secret filled and the domain set, as a merchant would."""
    text = (ROOT / ".env.example").read_text()
    fills = {
        "SECRET_KEY": "s" * 50,
        "KEY_ENCRYPTION_KEYS": "A" * 43 + "=",
        "KEY_FINGERPRINT_SECRET": "f" * 48,
        "POSTGRES_PASSWORD": "pgpass",
        "STRIPE_SECRET_KEY": "sk_live_x",
        "STRIPE_PUBLISHABLE_KEY": "pk_live_x",
        "STRIPE_WEBHOOK_SECRET": "whsec_x",
    }
    for name, value in fills.items():
        text = re.sub(rf"^{name}=$", f"{name}={value}", text, flags=re.M)
    text = text.replace("shop.example.com", "keys.merchant-shop.fr")
    text = text.replace("PUT-POSTGRES_PASSWORD-HERE", "pgpass")
    return text


def test_docker_compose_config_renders_from_a_env_with_a_real_domain(tmp_path):
    compose_bin = shutil.which("docker-compose")
    if compose_bin is None:
        pytest.skip("docker-compose is not installed (apt-get install docker-compose)")
    for name in ("docker-compose.yml", "Dockerfile", ".dockerignore"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    (tmp_path / ".env").write_text(_generated_env(tmp_path))
    result = subprocess.run(
        [compose_bin, "config"], cwd=tmp_path, capture_output=True, text=True, env=os.environ
    )
    assert result.returncode == 0, result.stderr
    rendered = yaml.safe_load(result.stdout)
    services = rendered["services"]

    for name in ("web", "worker", "beat"):
        service = services[name]
        assert service["environment"]["ALLOWED_HOSTS"] == "keys.merchant-shop.fr"  # from .env
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["restart"] == "unless-stopped"
    assert services["web"]["environment"]["TRUSTED_PROXY_COUNT"] == "1"
    assert "check --deploy" in " ".join(services["web"]["command"])
    assert "ports" not in services["web"]  # only nginx faces the network
    assert "migrate" in " ".join(services["migrate"]["command"])
    for name in ("web", "postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "ping" in services["redis"]["healthcheck"]["test"]
    assert "--appendonly" in services["redis"]["command"]
    assert services["mailpit"]["profiles"] == ["mail"]
    assert {"pg-data", "redis-data", "private-media"} <= set(rendered["volumes"])
    nginx_mounts = " ".join(str(v) for v in services["nginx"]["volumes"])
    assert "deploy/nginx/keystore.conf" in nginx_mounts

    source = (ROOT / "docker-compose.yml").read_text()
    for setting in ("ALLOWED_HOSTS", "EMAIL_HOST", "DATABASE_URL", "REDIS_URL", "SECRET_KEY"):
        assert f"{setting}:" not in source, f"{setting} must come from .env"


def test_env_example_documents_every_variable_the_shop_reads():
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, flags=re.M))
    documented |= set(re.findall(r"\b([A-Z][A-Z0-9_]{3,})\b", example))
    read = set()
    for path in [ROOT / "config" / "settings.py", ROOT / "config" / "env.py"]:
        read |= set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z0-9_]+)"', path.read_text()))
    read -= {"KEYSTORE_BUILD_STATIC"}  # a build step's own flag, never configured
    assert read - documented == set()
    assert not re.search(
        r"^(SECRET_KEY|KEY_ENCRYPTION_KEYS|KEY_FINGERPRINT_SECRET)=.+", example, re.M
    )


def test_dockerignore_keeps_secrets_local_state_and_dev_files_out_of_the_image():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".env", "var/", ".venv/", ".git/", "media/", ".pytest_cache/", "tests/"):
        assert entry in ignored, entry
    dockerfile = (ROOT / "Dockerfile").read_text()
    instructions = "\n".join(ln for ln in dockerfile.splitlines() if not ln.startswith("#"))
    assert "requirements-dev.lock" not in instructions and "requirements.lock" in instructions
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)  # not root at runtime
    assert dockerfile.count("FROM ") >= 2  # multi-stage
