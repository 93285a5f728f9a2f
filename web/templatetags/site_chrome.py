"""``{% chrome %}``: the site's chrome (head links, header, navigation, footer) rendered
once per process and per state, with per-request holes.

    {% load site_chrome %}
    {% chrome "header" LANGUAGE_CODE user.is_authenticated SHOP_IDENTITY TEST_PAYMENTS %}
      ... rendered once for these values ...
      {% live %}{{ cart_item_count }}{% endlive %}   ... rendered on every request ...
    {% endchrome %}

The block between ``{% chrome %}`` and ``{% endchrome %}`` is rendered the first time a
process sees its name and values (plus the active language and the script prefix, always
part of the key), with each ``{% live %}`` block left as a marker; the text around the
markers is kept in this process's memory, and every request joins it with the ``{% live %}``
blocks rendered against its own context. So the header's hundreds of template nodes, URL
reversals and translations cost one dictionary lookup, while what belongs to one request
(the CSRF token, the cart count, the page's own address) is rendered for that request.

What the cached text may depend on is exactly the values named in the tag: anything else
that differs between requests (the user's name, the request's path, a token) must sit in
a ``{% live %}`` block, never in the cached text. ``{% live %}`` blocks must not be inside
a loop, and variables the cached text sets (``{% url ... as x %}``) are not set on the
requests that use the stored text: a ``{% live %}`` block must not read them.

``{% fragment "name" values... %}...{% endfragment %}`` works the same way for text that
differs per row of the data (a product page's content, an order's entry in My Account):
its key is ``core.fragments.fragment_key`` of the values named (which must hold
everything the block shows: the view computes them, e.g. ``web.cards.product_page_key``),
and it is kept in the bounded store of ``core.fragments``. A value that does not resolve
is an error, never a key shared by every row. ``{% live %}`` blocks inside it may sit in
a loop when they read nothing of the loop (``{% csrf_token %}``).

Invalidation: the key holds the values themselves (the shop identity is a frozen
dataclass, so a changed name, address or logo makes a new key in every process as soon
as the shared identity cache is dropped, core.identity); templates only change with a
deploy (a new process); a changed setting (``override_settings``) empties the store
(web.apps). :func:`chrome_cache_clear` empties this process's store, and the
store forgets everything once it holds ``CHROME_CACHE_MAX`` entries (old identities).
"""

from __future__ import annotations

import re
import threading

from django import template
from django.template.base import FilterExpression, Node, NodeList, Parser, Token
from django.template.context import Context
from django.urls import get_script_prefix, get_urlconf
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from core.fragments import fragment_get, fragment_key, fragment_set

register = template.Library()

CHROME_CACHE_MAX = 256
_MARKER = "\x00chrome-live-{}\x00"
_MARKER_RE = re.compile("\x00chrome-live-(\\d+)\x00")

# key -> the text between the live blocks, and which live block follows each piece
_store: dict[tuple, tuple[list[str], list[int]]] = {}
_lock = threading.Lock()


def chrome_cache_clear() -> None:
    """Forget every stored chrome text of this process."""
    with _lock:
        _store.clear()


class LiveNode(Node):
    """Rendered on every request; while the surrounding chrome is being stored, a marker."""

    child_nodelists = ("nodelist",)

    def __init__(self, nodelist: NodeList) -> None:
        self.nodelist = nodelist
        self.index = -1  # set by the enclosing ChromeNode

    def render(self, context: Context) -> SafeString:
        return mark_safe(_MARKER.format(self.index))


class ChromeNode(Node):
    child_nodelists = ("nodelist",)

    def __init__(self, name: str, values: list[FilterExpression], nodelist: NodeList) -> None:
        self.name = name
        self.values = values
        self.nodelist = nodelist
        self.live: list[LiveNode] = list(nodelist.get_nodes_by_type(LiveNode))  # type: ignore[arg-type]
        for index, node in enumerate(self.live):
            node.index = index

    def _stored(self, context: Context, key: tuple) -> tuple[list[str], list[int]]:
        stored = _store.get(key)
        if stored is None:
            text = self.nodelist.render(context)
            pieces = _MARKER_RE.split(text)
            stored = (pieces[0::2], [int(index) for index in pieces[1::2]])
            with _lock:
                if len(_store) >= CHROME_CACHE_MAX:
                    _store.clear()
                _store[key] = stored
        return stored

    def _key(self, context: Context) -> tuple:
        return (
            self.name,
            get_language(),
            get_script_prefix(),
            get_urlconf(),
            *(value.resolve(context) for value in self.values),
        )

    def render(self, context: Context) -> SafeString:
        texts, live = self._stored(context, self._key(context))
        out = [texts[0]]
        for index, text in zip(live, texts[1:], strict=True):
            out.append(self.live[index].nodelist.render(context))
            out.append(text)
        return mark_safe("".join(out))


class FragmentNode(ChromeNode):
    """``{% fragment %}``: as ``{% chrome %}``, for text that differs per row of the data
    (a product page): kept in the bounded store of core.fragments, under the key of
    core.fragments.fragment_key with the values named in the tag."""

    def _stored(self, context: Context, key: tuple) -> tuple[list[str], list[int]]:
        stored = fragment_get(key)
        if stored is None:
            text = self.nodelist.render(context)
            pieces = _MARKER_RE.split(text)
            stored = (pieces[0::2], [int(index) for index in pieces[1::2]])
            fragment_set(key, stored, size=len(text))
        return stored  # type: ignore[return-value]

    def _key(self, context: Context) -> tuple:
        values = [value.resolve(context, ignore_failures=True) for value in self.values]
        if any(value is None for value in values):
            # a missing key would give every row the same key, so the first row's text
            raise template.TemplateSyntaxError(
                f"{{% fragment {self.name!r} %}}: a key value is missing"
            )
        return fragment_key(self.name, *values)


def _block_parse(parser: Parser, token: Token, end: str) -> tuple[str, list, NodeList]:
    bits = token.split_contents()
    if len(bits) < 2 or bits[1][0] not in "\"'" or bits[1][-1] != bits[1][0]:
        raise template.TemplateSyntaxError(f'{{% {bits[0]} "name" value ... %}}')
    nodelist = parser.parse((end,))
    parser.delete_first_token()
    return bits[1][1:-1], [parser.compile_filter(bit) for bit in bits[2:]], nodelist


@register.tag("fragment")
def do_fragment(parser: Parser, token: Token) -> FragmentNode:
    return FragmentNode(*_block_parse(parser, token, "endfragment"))


@register.tag("chrome")
def do_chrome(parser: Parser, token: Token) -> ChromeNode:
    return ChromeNode(*_block_parse(parser, token, "endchrome"))


@register.tag("live")
def do_live(parser: Parser, token: Token) -> LiveNode:
    nodelist = parser.parse(("endlive",))
    parser.delete_first_token()
    return LiveNode(nodelist)
