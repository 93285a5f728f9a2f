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
from django.contrib.staticfiles import finders
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


# url(...) and @import "..." in CSS, wherever CSS is written (style blocks and attributes,
# stylesheets).
_CSS_URLS = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])([^'")\s]+)""")


class _UrlCollector(HTMLParser):
    """Every URL in a whole page (head and body) that a browser would fetch, follow or
    send to: any ``src``, ``srcset``, ``href``, ``action``, ``formaction``, ``data``,
    ``poster``, htmx request attribute, and ``url()`` / ``@import`` in style attributes
    and style blocks."""

    URL_ATTRS = {"src", "href", "action", "formaction", "data", "poster", "xlink:href"}
    URL_ATTRS |= {f"hx-{verb}" for verb in ("get", "post", "put", "patch", "delete")}
    SRCSET_ATTRS = {"srcset", "imagesrcset"}

    def __init__(self):
        super().__init__()
        self.urls: list[tuple[str, str]] = []  # (where, url)
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self._in_style = tag == "style"
        for name, value in attrs:
            value = (value or "").strip()
            if not value:
                continue
            if name in self.URL_ATTRS:
                self.urls.append((f"<{tag} {name}>", value))
            elif name in self.SRCSET_ATTRS:
                for candidate in value.split(","):
                    if candidate.strip():
                        self.urls.append((f"<{tag} {name}>", candidate.split()[0]))
            elif name == "style":
                self.urls += [(f"<{tag} style>", u) for u in _CSS_URLS.findall(value)]

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.urls += [("<style>", u) for u in _CSS_URLS.findall(data)]


def _third_party(url: str, *, own_hosts: set[str]) -> bool:
    """True for a URL on another host (or another scheme than http(s), data: and the
    page's own relative links)."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "mailto", "tel") or url.startswith("#"):
        return False
    if parts.scheme not in ("", "http", "https"):
        return True  # javascript:, ftp:, ...
    return bool(parts.netloc) and parts.netloc not in own_hosts


def test_third_party_detection_reads_the_whole_page():
    """The collector sees a foreign URL wherever it is written, not only in <head>."""
    page = """<html><head><link rel="stylesheet" href="/static/a.css"></head><body>
      <img src="https://cdn.example/a.png"><img srcset="/x.png 1x, //cdn.example/b.png 2x">
      <a href="https://tracker.example/">x</a><form action="https://collect.example/"></form>
      <button formaction="https://collect.example/b"></button>
      <div style="background: url('https://cdn.example/bg.png')"></div>
      <style>@import "https://fonts.example/f.css";</style>
      <div hx-get="https://api.example/"></div><a href="mailto:s@shop.test">mail</a>
      <a href="http://testserver/cart/">own</a></body></html>"""
    collector = _UrlCollector()
    collector.feed(page)
    foreign = [u for _, u in collector.urls if _third_party(u, own_hosts={"testserver"})]
    assert foreign == [
        "https://cdn.example/a.png",
        "//cdn.example/b.png",
        "https://tracker.example/",
        "https://collect.example/",
        "https://collect.example/b",
        "https://cdn.example/bg.png",
        "https://fonts.example/f.css",
        "https://api.example/",
    ]


def test_pages_load_no_third_party_assets(client, product):
    """Nothing anywhere on the shop's pages (head and body: sources, links, forms, inline
    styles), nor in the stylesheets they link, comes from or goes to another host."""
    own_hosts = {"testserver", urlsplit(django_settings.SITE_URL).netloc}
    pages = [
        reverse("catalog:catalog"),
        product.get_absolute_url(),
        reverse("catalog:cart"),
        reverse("catalog:contact"),
        reverse("account_login"),
        "/orders/track/",
    ]
    stylesheets = set()
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        collector = _UrlCollector()
        collector.feed(response.content.decode())
        where = {w for w, _ in collector.urls}
        assert {"<link href>", "<a href>", "<form action>"} <= where, (url, where)
        foreign = [(w, u) for w, u in collector.urls if _third_party(u, own_hosts=own_hosts)]
        assert foreign == [], url
        stylesheets |= {u for _, u in collector.urls if urlsplit(u).path.endswith(".css")}
    assert stylesheets
    for url in stylesheets:
        path = finders.find(urlsplit(url).path.removeprefix(django_settings.STATIC_URL))
        assert path, url
        imported = _CSS_URLS.findall(Path(path).read_text())
        assert [u for u in imported if _third_party(u, own_hosts=set())] == [], url


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
