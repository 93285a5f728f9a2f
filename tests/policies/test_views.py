"""Published policy pages: three languages, clause anchors, history, side-by-side Arabic."""

import pytest

from policies.services import preset_load

pytestmark = pytest.mark.django_db


@pytest.fixture
def novakeys():
    return preset_load(slug="novakeys", activate=True).preset


def test_index_without_an_active_preset(client):
    response = client.get("/policies/")
    assert response.status_code == 200
    assert client.get("/policies/refund/").status_code == 404


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
@pytest.mark.parametrize("kind", ["refund", "delivery", "warranty", "terms", "privacy"])
def test_every_page_renders_in_every_language(client, kind, language):
    preset_load(slug="allkeymasters", activate=True)
    response = client.get(f"/policies/{kind}/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    assert f'lang="{language}"' in response.content.decode()


def test_clause_anchors(client, novakeys):
    html = client.get("/policies/warranty/").content.decode()
    assert 'id="clause-novakeys.out_of_scope"' in html
    assert 'id="clause-novakeys.claim_procedure"' in html
    assert "Last updated" in html


def test_novakeys_shows_english_and_arabic_side_by_side(client, novakeys):
    html = client.get("/policies/warranty/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'lang="ar" dir="rtl"' in html and 'lang="en" dir="ltr"' in html
    assert "خارج نطاق الضمان" in html


def test_french_page_is_french(client, novakeys):
    html = client.get("/policies/warranty/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Hors garantie" in html


def test_history_and_old_versions(client, novakeys):
    from policies.models import PolicyDocument

    doc = PolicyDocument.objects.get(preset=novakeys, kind="terms", language="en")
    doc.body = dict(doc.body, intro="old")
    doc.save()
    preset_load(slug="novakeys")
    html = client.get("/policies/terms/history/").content.decode()
    assert "?version=1" in html and "?version=2" in html
    old = client.get("/policies/terms/?version=1").content.decode()
    assert "no longer in force" in old
    assert client.get("/policies/nonsense/").status_code == 404


def test_index_lists_current_documents(client, novakeys):
    html = client.get("/policies/").content.decode()
    for kind in ("refund", "delivery", "warranty", "terms", "privacy"):
        assert f"/policies/{kind}/" in html
