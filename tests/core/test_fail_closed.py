"""Production fails closed: each unsafe configuration stops `check --deploy`, gunicorn and
the Celery worker with a named check (core/checks.py); a complete configuration passes."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
_SHOP_DB: dict[str, Path] = {}

# the module's shop database is migrated once, in a subprocess: keep the module on one
# pytest-xdist worker (`make test` runs with --dist loadfile)
pytestmark = pytest.mark.xdist_group("fail_closed")


@pytest.fixture(autouse=True, scope="module")
def set_up_shop_database(tmp_path_factory):
    """One migrated database with the shop's identity and an active preset (what
    `setup_shop` leaves), copied into each test's own folder by :func:`production_env`:
    the identity check (keystore.E050) reads it."""
    folder = tmp_path_factory.mktemp("shop")
    env = production_env(folder, _copy_db=False)
    for command in (
        ["migrate", "--noinput"],
        ["setup_shop", "--no-input", "--name=Example Keys", "--legal-name=Example Keys SARL",
         "--support-email=support@shop.example.com", "--preset=antimart",
         "--owner-email=owner@shop.example.com"],
    ):  # fmt: skip
        done = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env={**env, "SETUP_OWNER_PASSWORD": "a long owner passphrase 42"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    _SHOP_DB["path"] = folder / "db.sqlite3"


def production_env(tmp_path, _copy_db: bool = True, **overrides) -> dict:
    """A complete production configuration (fresh random secrets, Stripe keys) over a
    copy of the set-up shop's database."""
    # (only once this module's fixture has set the shop up; other modules reusing this
    # configuration need no shop database)
    if _copy_db and "path" in _SHOP_DB and not (tmp_path / "db.sqlite3").exists():
        shutil.copy(_SHOP_DB["path"], tmp_path / "db.sqlite3")
    env = {
        "PATH": os.environ["PATH"],
        "KEYSTORE_ENV": "production",
        "KEYSTORE_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "SECRET_KEY": "s8Gq2-vN7yWc_4kLp0ZrT1xB9eHm3UaJdQ6fVt5oYiK-EwRnPg7hCzXuMbL2sA0",
        "KEY_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "KEY_FINGERPRINT_SECRET": "Qm3t7VbX0pLk9sWz2RcHy5NfJd8GaE1u4iOq6TeYr",
        "ALLOWED_HOSTS": "shop.example.com",
        "STRIPE_SECRET_KEY": "sk_live_51Hx9Rk2eZvKYlo2C0abcdefghijkl",
        "STRIPE_PUBLISHABLE_KEY": "pk_live_51Hx9Rk2eZvKYlo2C0abcdefghijkl",
        "STRIPE_WEBHOOK_SECRET": "whsec_9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
    }
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def deploy_check(env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_complete_production_configuration_passes_the_deploy_checks(tmp_path):
    result = deploy_check(production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_with_no_stripe_keys_or_placeholder_secrets_fails_naming_each(tmp_path):
    """What `.env.example` with nothing filled in gives: every problem named at once."""
    env = production_env(
        tmp_path,
        STRIPE_SECRET_KEY=None,
        STRIPE_PUBLISHABLE_KEY=None,
        STRIPE_WEBHOOK_SECRET=None,
        SECRET_KEY="change-me",
        KEY_ENCRYPTION_KEYS="change-me",
        KEY_FINGERPRINT_SECRET="change-me",
    )
    result = deploy_check(env)
    assert result.returncode != 0
    for check_id in ("E002", "E003", "E004", "E006", "E007", "E008"):
        assert f"keystore.{check_id}" in result.stderr, result.stderr


def test_production_refuses_the_test_gateway_even_when_asked(tmp_path):
    result = deploy_check(production_env(tmp_path, PAYMENT_GATEWAY="test"))
    assert result.returncode != 0 and "keystore.E001" in result.stderr, result.stderr


FERNET = Fernet.generate_key().decode()
UNSAFE = {
    "test gateway in production": ({"PAYMENT_GATEWAY": "test"}, "keystore.E001"),
    "no secret key": ({"STRIPE_SECRET_KEY": ""}, "keystore.E002"),
    "a publishable key as secret key": ({"STRIPE_SECRET_KEY": "pk_live_abc"}, "keystore.E002"),
    "no publishable key": ({"STRIPE_PUBLISHABLE_KEY": None}, "keystore.E003"),
    "no webhook secret": ({"STRIPE_WEBHOOK_SECRET": ""}, "keystore.E004"),
    "unknown gateway": ({"PAYMENT_GATEWAY": "paypal"}, "keystore.E005"),
    "placeholder SECRET_KEY": ({"SECRET_KEY": "change-me"}, "keystore.E006"),
    "long placeholder SECRET_KEY": (
        {"SECRET_KEY": "please-change-me-to-a-long-random-string-before-going-live-0123"},
        "keystore.E006",
    ),
    "Django's insecure default SECRET_KEY": (
        {"SECRET_KEY": "django-insecure-" + "k2j4h5g6f7d8s9a0q1w2e3r4t5y6u7i8o9p0lmnbvcxz"},
        "keystore.E006",
    ),
    "no encryption key": ({"KEY_ENCRYPTION_KEYS": []}, "keystore.E007"),
    "placeholder encryption key": ({"KEY_ENCRYPTION_KEYS": ["change-me"]}, "keystore.E007"),
    "second encryption key does not parse": (
        {"KEY_ENCRYPTION_KEYS": [FERNET, "not-a-fernet-key"]},
        "keystore.E007",
    ),
    "published test encryption key": (
        {"KEY_ENCRYPTION_KEYS": ["dGVzdC1rZXktZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM="]},
        "keystore.E007",
    ),
    "short fingerprint secret": ({"KEY_FINGERPRINT_SECRET": "fingerprint"}, "keystore.E008"),
    "repetitive fingerprint secret": ({"KEY_FINGERPRINT_SECRET": "ab" * 30}, "keystore.E008"),
    "published test fingerprint secret": (
        {"KEY_FINGERPRINT_SECRET": "test-fingerprint-secret"},
        "keystore.E008",
    ),
}


@pytest.mark.parametrize("case", list(UNSAFE), ids=list(UNSAFE))
def test_each_unsafe_production_setting_fails_its_named_check(settings, case):
    from django.core.checks import run_checks

    settings.KEYSTORE_ENV = "production"
    settings.PAYMENT_GATEWAY = "stripe"
    settings.SECRET_KEY = "s8Gq2-vN7yWc_4kLp0ZrT1xB9eHm3UaJdQ6fVt5oYiK-EwRnPg7hCzXuMbL2sA0"
    settings.KEY_ENCRYPTION_KEYS = [FERNET]
    settings.KEY_FINGERPRINT_SECRET = "Qm3t7VbX0pLk9sWz2RcHy5NfJd8GaE1u4iOq6TeYr"
    settings.STRIPE_SECRET_KEY = "sk_live_51Hx9Rk2eZvKYlo2C0abcdefghijkl"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_live_51Hx9Rk2eZvKYlo2C0abcdefghijkl"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"
    assert not [m for m in run_checks(tags=["keystore"]) if m.is_serious()]
    overrides, check_id = UNSAFE[case]
    for name, value in overrides.items():
        setattr(settings, name, value)
    errors = [m for m in run_checks(tags=["keystore"]) if m.is_serious()]
    assert [m.id for m in errors] == [check_id], errors
    assert errors[0].hint  # each says what to fix


def test_checks_are_silent_outside_production_and_staging(settings):
    from django.core.checks import run_checks

    settings.PAYMENT_GATEWAY = "test"
    settings.SECRET_KEY = "change-me"
    assert settings.KEYSTORE_ENV == "test"
    assert not run_checks(tags=["keystore"])


def test_staging_may_use_the_test_gateway_only_when_asked_explicitly(tmp_path):
    no_stripe = {"STRIPE_SECRET_KEY": None, "STRIPE_PUBLISHABLE_KEY": None}
    no_stripe["STRIPE_WEBHOOK_SECRET"] = None
    implicit = deploy_check(production_env(tmp_path, KEYSTORE_ENV="staging", **no_stripe))
    assert implicit.returncode != 0 and "keystore.E002" in implicit.stderr
    explicit = deploy_check(
        production_env(tmp_path, KEYSTORE_ENV="staging", PAYMENT_GATEWAY="test", **no_stripe)
    )
    assert explicit.returncode == 0, explicit.stdout + explicit.stderr


def test_gunicorn_refuses_to_start_on_an_unsafe_configuration(tmp_path):
    env = production_env(tmp_path, PAYMENT_GATEWAY="test", KEY_FINGERPRINT_SECRET="fingerprint")
    result = subprocess.run(
        [str(BIN / "gunicorn"), "config.wsgi", "--bind", "127.0.0.1:0", "--workers", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "keystore.E001" in result.stderr and "keystore.E008" in result.stderr


@pytest.mark.parametrize("command", ["worker", "beat"])
def test_celery_refuses_to_start_on_an_unsafe_configuration(tmp_path, command):
    env = production_env(tmp_path, SECRET_KEY="change-me")
    args = [str(BIN / "celery"), "-A", "config", command, "--loglevel", "WARNING"]
    if command == "worker":
        args += ["--pool", "solo"]
    else:
        args += ["--schedule", str(tmp_path / "beat-schedule")]
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "keystore.E006" in result.stderr + result.stdout


@pytest.mark.django_db
def test_every_page_says_so_when_the_test_gateway_is_on(client, settings, product):
    from django.core.cache import cache

    settings.PAYMENT_GATEWAY = "test"
    for url in ("/", product.get_absolute_url(), "/cart/", "/accounts/login/"):
        assert 'class="test-mode-banner"' in client.get(url).content.decode(), url
    settings.PAYMENT_GATEWAY = "stripe"
    cache.clear()  # the catalog page is shared from the cache
    assert 'class="test-mode-banner"' not in client.get("/").content.decode()
