"""Dates read the same way on every page and email of a language: day month year, a
24-hour clock, the store's time zone named; no ISO dates, no "a.m.", no mixed orders."""

import re
from datetime import UTC, datetime

import pytest
from django.template import Context, Template
from django.utils import formats, timezone, translation

from core.dates import datetime_for_customer
from tests.factories import ProductFactory, UserFactory, keys_create, order_delivered_new

MOMENT = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "6 March 2026"), ("fr", "6 mars 2026"), ("ar", "6 مارس 2026")],
)
def test_every_date_format_of_a_language_writes_day_month_year(language, expected):
    with translation.override(language):
        assert formats.date_format(MOMENT, "DATE_FORMAT") == expected
        assert formats.date_format(MOMENT, "DATETIME_FORMAT").startswith(expected)
        assert formats.date_format(MOMENT, "DATETIME_FORMAT").endswith("10:00")
        assert expected in datetime_for_customer(moment=MOMENT, time_zone="UTC")


def test_the_filters_write_the_moment_on_the_stores_clock():
    template = Template("{% load shop_format %}{{ moment|shop_datetime }}|{{ moment|shop_date }}")
    with translation.override("en"), timezone.override("Europe/Paris"):
        rendered = template.render(Context({"moment": MOMENT}))
    assert rendered == "6 March 2026 at 11:00, Europe/Paris time|6 March 2026"


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_my_account_writes_order_dates_like_the_claim_pages(client, language):
    product = ProductFactory()
    keys_create(product=product, count=1)
    user = UserFactory()
    order = order_delivered_new(product=product, user=user)
    client.force_login(user)
    client.cookies["django_language"] = language
    html = client.get("/account/").content.decode()
    with translation.override(language):
        expected = datetime_for_customer(moment=order.created_at, time_zone="UTC")
    assert expected in html.replace("&#x27;", "'")
    visible = re.sub(r"<[^>]+>", " ", html)
    assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", visible)
    assert "a.m." not in visible and "p.m." not in visible


def test_a_moment_written_again_is_the_same_text_and_follows_a_language_or_format_change(
    tmp_path, monkeypatch
):
    """Written once per moment, zone and language (an email shows one several times);
    another language, zone or formats setting writes it again."""
    from django.test import override_settings

    with translation.override("fr"):
        first = datetime_for_customer(moment=MOMENT, time_zone="Europe/Paris")
        assert datetime_for_customer(moment=MOMENT, time_zone="Europe/Paris") == first
        assert datetime_for_customer(moment=MOMENT, time_zone="UTC") != first
    with translation.override("en"):
        english = datetime_for_customer(moment=MOMENT, time_zone="Europe/Paris")
        assert english != first and "6 March 2026" in english
        (tmp_path / "isoformats" / "en").mkdir(parents=True)
        (tmp_path / "isoformats" / "__init__.py").write_text("")
        (tmp_path / "isoformats" / "en" / "__init__.py").write_text("")
        (tmp_path / "isoformats" / "en" / "formats.py").write_text('DATE_FORMAT = "Y-m-d"\n')
        monkeypatch.syspath_prepend(str(tmp_path))
        try:
            with override_settings(FORMAT_MODULE_PATH=["isoformats"]):
                formats.reset_format_cache()  # Django's own, not reset for this setting
                written = datetime_for_customer(moment=MOMENT, time_zone="Europe/Paris")
                assert "2026-03-06" in written
        finally:
            formats.reset_format_cache()
        assert datetime_for_customer(moment=MOMENT, time_zone="Europe/Paris") == english
