"""How a policy page reads: one page title (h1), English and Arabic in two columns for
NovaKeys, each language's clause anchors pointing at its own copy, a breadcrumb that names
the page, and the change history linked."""

import re

import pytest

from policies.services import preset_load

pytestmark = pytest.mark.django_db


@pytest.fixture
def novakeys():
    return preset_load(slug="novakeys", activate=True).preset


def test_the_page_has_one_title_and_the_companion_is_a_column_beside_it(client, novakeys):
    html = client.get("/policies/warranty/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert len(re.findall(r"<h1[ >]", html)) == 1
    assert re.search(r'<div class="[^"]*\bbilingual\b', html)  # the two-column grid
    arabic = html[html.index('lang="ar" dir="rtl"') :]
    assert "<h2>" in arabic[:300]


def test_each_language_anchor_links_to_its_own_clause(client, novakeys):
    html = client.get("/policies/warranty/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    arabic = html[html.index('lang="ar" dir="rtl"') :]
    assert 'id="clause-novakeys.claim_procedure-ar"' in arabic
    assert 'href="#clause-novakeys.claim_procedure-ar"' in arabic
    english = html[: html.index('lang="ar" dir="rtl"')]
    assert 'href="#clause-novakeys.claim_procedure"' in english


def test_breadcrumb_names_the_page_and_history_is_linked(client, novakeys):
    html = client.get("/policies/warranty/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    crumb = re.search(r'<nav[^>]*class="breadcrumbs">(.*?)</nav>', html, flags=re.S).group(1)
    assert 'aria-current="page"' in crumb and "Change history" not in crumb
    assert 'href="/policies/warranty/history/"' in html
