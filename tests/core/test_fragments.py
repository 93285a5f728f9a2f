"""The process's store of rendered fragments (core.fragments) holds a bounded amount of
text and lets the least recently used go first."""

from __future__ import annotations

import pytest

from core import fragments


@pytest.fixture
def small_store(monkeypatch):
    monkeypatch.setattr(fragments, "FRAGMENT_STORE_MAX_CHARS", 10)
    fragments.fragments_clear()
    yield
    fragments.fragments_clear()


@pytest.mark.usefixtures("small_store")
def test_the_store_keeps_at_most_its_budget_of_text_dropping_the_least_recently_used():
    fragments.fragment_set("a", "aaaa", size=4)
    fragments.fragment_set("b", "bbbb", size=4)
    assert fragments.fragment_get("a") == "aaaa"  # a is now the most recently used
    fragments.fragment_set("c", "cccc", size=4)
    assert fragments.fragment_get("b") is None
    assert fragments.fragment_get("a") == "aaaa" and fragments.fragment_get("c") == "cccc"


@pytest.mark.usefixtures("small_store")
def test_storing_a_key_again_replaces_its_text_and_its_size():
    fragments.fragment_set("a", "aaaaaaaa", size=8)
    fragments.fragment_set("a", "a", size=1)
    fragments.fragment_set("b", "bbbbbbbbb", size=9)
    assert fragments.fragment_get("a") == "a" and fragments.fragment_get("b") == "bbbbbbbbb"


def test_the_key_holds_the_language():
    from django.utils import translation

    with translation.override("fr"):
        french = fragments.fragment_key("card", 1)
    with translation.override("ar"):
        arabic = fragments.fragment_key("card", 1)
    assert french != arabic
