import io
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.conf import settings as django_settings
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def test_arabic_pages_render_right_to_left(client):
    client.post(reverse("set_language"), {"language": "ar", "next": "/"})
    body = client.get(reverse("catalog:catalog")).content.decode()
    assert 'dir="rtl"' in body and 'lang="ar"' in body


def test_french_pages_are_left_to_right(client):
    client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    body = client.get(reverse("catalog:catalog")).content.decode()
    assert 'dir="ltr"' in body and 'lang="fr"' in body


class _AssetCollector(HTMLParser):
    """Every URL a browser would load on its own from a page: scripts, stylesheets, icons,
    images, frames, media, objects, and ``url()`` in inline style blocks."""

    ATTRS = {"src", "srcset", "data", "poster"}

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._in_style = tag == "style"
        for name in self.ATTRS & set(attrs):
            for candidate in (attrs[name] or "").split(","):
                if candidate.strip():
                    self.urls.append(candidate.strip().split()[0])
        rels = set((attrs.get("rel") or "").lower().split()) - {"alternate", "canonical"}
        if tag == "link" and attrs.get("href") and rels:
            self.urls.append(attrs["href"])

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.urls += re.findall(r"url\(\s*['\"]?([^'\")]+)", data)
            self.urls += re.findall(r"@import\s+['\"]([^'\"]+)", data)


def _third_party(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.netloc or url.startswith("//") or parts.scheme not in ("", "data"))


def test_pages_load_no_third_party_assets(client, product):
    """Nothing on the shop's pages, head or body, nor in its own stylesheets, is loaded
    from another host."""
    from django.contrib.staticfiles import finders

    stylesheets = set()
    for url in [reverse("catalog:catalog"), product.get_absolute_url(), reverse("account_login")]:
        collector = _AssetCollector()
        collector.feed(client.get(url).content.decode())
        assert collector.urls, url  # the parser sees the page's own assets
        assert [u for u in collector.urls if _third_party(u)] == [], url
        stylesheets |= {u for u in collector.urls if urlsplit(u).path.endswith(".css")}
    assert stylesheets
    for url in stylesheets:
        path = finders.find(urlsplit(url).path.removeprefix(django_settings.STATIC_URL))
        assert path, url
        css = Path(path).read_text()
        imported = re.findall(r"(?:url\(|@import)\s*['\"]?([^'\")\s;]+)", css)
        assert [u for u in imported if _third_party(u)] == [], url


def test_contact_page_shows_support_email(client):
    body = client.get(reverse("catalog:contact")).content.decode()
    assert "support@" in body


def test_admin_login_goes_through_allauth(client):
    response = client.get("/admin/login/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_production_refuses_to_start_without_secrets(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "KEYSTORE_ENV": "production",
        "KEYSTORE_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr and "KEY_ENCRYPTION_KEYS" in result.stderr
    assert not (tmp_path / "secrets.json").exists()


def test_development_generates_secrets_once_into_var(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "KEYSTORE_ENV": "development",
        "KEYSTORE_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
    }
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "manage.py", "check"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
    secrets_file = tmp_path / "secrets.json"
    assert secrets_file.exists()
    assert oct(secrets_file.stat().st_mode & 0o777) == "0o600"
    first = secrets_file.read_text()
    subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    assert secrets_file.read_text() == first


def test_secrets_file_is_ignored_by_git():
    result = subprocess.run(
        ["git", "check-ignore", "var/secrets.json"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0


def test_docker_compose_services_run_things_that_exist():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"web", "worker", "beat", "postgres", "redis", "mailpit"} <= set(services)
    for name in ("web", "worker", "beat"):
        command = services[name]["command"]
        command = command if isinstance(command, str) else " ".join(command)
        if "gunicorn" in command:
            assert "config.wsgi" in command
            import config.wsgi  # noqa: F401
        if "celery" in command:
            assert "-A config" in command
            from config.celery import app

            assert app.main == "keystore"
        assert (ROOT / "Dockerfile").exists()
    example = (ROOT / ".env.example").read_text()
    assert "\nDATABASE_URL=" in example and "\nREDIS_URL=" in example
    for name in ("worker", "beat", "web"):
        assert services[name]["env_file"] == ".env"  # every setting comes from .env


def test_beat_schedule_names_registered_tasks():
    from config.celery import app

    app.loader.import_default_modules()
    for entry in app.conf.beat_schedule.values():
        assert entry["task"] in app.tasks, entry["task"]


def test_seed_demo_is_safe_to_run_twice(db):
    from django.core.management import call_command

    from catalog.models import Product

    call_command("seed_demo", keys_per_product=2, stdout=io.StringIO())
    first = Product.objects.count()
    call_command("seed_demo", keys_per_product=2, stdout=io.StringIO())
    assert Product.objects.count() == first >= 10


def test_contact_page_shows_the_active_stores_hours_and_time_zone(client):
    from core.identity import shop_identity_update
    from policies.services import preset_load

    shop_identity_update(support_email="help@myshop.example", support_phone="+33 1 23 45 67 89")
    preset_load(slug="novakeys", activate=True)
    body = client.get(reverse("catalog:contact")).content.decode()
    assert "help@myshop.example" in body and "+33 1 23 45 67 89" in body
    assert "novakeys.store" not in body and "+966" not in body  # not the seed's company
    hours = body.split('id="hours-heading"')[1]
    positions = [
        hours.index(day) for day in ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday")
    ]
    assert positions == sorted(positions)  # the store's week starts on Sunday
    assert "Friday" not in hours and "Saturday" not in hours
    assert "Open from 09:00 to 17:00" in body
    assert "Asia/Riyadh" in body


def test_liveness_probe_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok"


def test_pages_show_times_on_the_active_stores_clock(client, django_capture_on_commit_callbacks):
    from datetime import UTC, datetime

    from django.http import HttpResponse
    from django.test import RequestFactory
    from django.utils import timezone

    from core.shop_clock import StoreTimeZoneMiddleware
    from policies.services import preset_load

    seen = {}

    def view(request):
        seen["tz"] = timezone.get_current_timezone_name()
        seen["local"] = timezone.localtime(datetime(2026, 3, 5, 6, 0, tzinfo=UTC))
        return HttpResponse("ok")

    def get():
        middleware = StoreTimeZoneMiddleware(lambda request: view(request))
        request = RequestFactory().get("/")
        middleware.process_view(request, view, (), {})
        return middleware(request)

    with django_capture_on_commit_callbacks(execute=True):
        preset_load(slug="novakeys", activate=True)
    get()
    assert seen["tz"] == "Asia/Riyadh"
    assert seen["local"].hour == 9  # 06:00 UTC is 09:00 in Riyadh, when the store opens
    assert timezone.get_current_timezone_name() == "UTC"  # nothing leaks past the request

    with django_capture_on_commit_callbacks(execute=True):
        preset_load(slug="allkeymasters", activate=True)
    get()
    assert seen["tz"] == "Europe/Paris"  # switching the preset moves the clock at once
