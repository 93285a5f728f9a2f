"""The shop's brand: colours checked for contrast, the logo checked by content, and the
small stylesheet (``/brand.css``) that carries the colours to every page.

Colours are ``#rrggbb``. The brand colour fills buttons and badges under white text and
colours links on white; the accent colour is used the same way. Both must therefore reach
WCAG AA for normal text (4.5:1) against white, which :func:`brand_color_problem` checks.

The logo is a PNG (re-encoded from its pixels, metadata dropped, like claim evidence) or
an SVG (parsed without entities or DTDs and rewritten from an allow-list of drawing
elements and attributes: no script, no event handler, no external reference), recognised
from its bytes, never from the file name or the browser's content type.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass
from xml.etree import ElementTree

from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
WHITE = "#ffffff"
AA_NORMAL_TEXT = 4.5
DEFAULT_BRAND_COLOR = "#0b5cad"
DEFAULT_ACCENT_COLOR = "#0f6b5f"
LOGO_MAX_BYTES = 512 * 1024
LOGO_MAX_PIXELS = 4_000_000
LOGO_MAX_SIDE = 1024


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(color: str) -> float:
    """WCAG 2 relative luminance of ``#rrggbb``."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    a, b = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def brand_color_problem(color: str) -> str | None:
    """Why ``color`` cannot be a brand colour (None when it can)."""
    if not HEX_COLOR.match(color or ""):
        return _("Enter a colour as # followed by six hexadecimal digits, e.g. #0b5cad.")
    ratio = contrast_ratio(color, WHITE)
    if ratio < AA_NORMAL_TEXT:
        return _(
            "%(color)s has a contrast ratio of %(ratio)s:1 with white; buttons show white "
            "text on it and links show it on white, so it needs at least 4.5:1 (WCAG AA). "
            "Choose a darker shade."
        ) % {"color": color, "ratio": f"{ratio:.2f}"}
    return None


def shade(color: str, factor: float) -> str:
    """``color`` darkened towards black by ``factor`` (0..1)."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(c * (1 - factor)):02x}" for c in (r, g, b))


def brand_css_render(*, brand_color: str, accent_color: str) -> str:
    """The stylesheet served at ``/brand.css``: the shop's colours as design tokens."""
    brand = brand_color.lower() if HEX_COLOR.match(brand_color or "") else DEFAULT_BRAND_COLOR
    accent = accent_color.lower() if HEX_COLOR.match(accent_color or "") else DEFAULT_ACCENT_COLOR
    return (
        "/* The shop's colours, from its identity (admin: Shop identity). */\n"
        ":root {\n"
        f"  --ks-brand: {brand};\n"
        "  --ks-brand-ink: #ffffff;\n"
        f"  --ks-accent: {accent};\n"
        f"  --ks-focus: {shade(brand, 0.35)};\n"
        "}\n"
    )


# ---- logo --------------------------------------------------------------------------------

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
SVG_ELEMENTS = frozenset(
    [
        "svg",
        "g",
        "path",
        "circle",
        "ellipse",
        "rect",
        "line",
        "polyline",
        "polygon",
        "defs",
        "lineargradient",
        "radialgradient",
        "stop",
        "title",
        "desc",
        "clippath",
        "mask",
        "text",
        "tspan",
        "symbol",
        "use",
    ]
)
SVG_ATTRIBUTES = frozenset(
    [
        "id",
        "class",
        "viewbox",
        "width",
        "height",
        "x",
        "y",
        "x1",
        "y1",
        "x2",
        "y2",
        "cx",
        "cy",
        "r",
        "rx",
        "ry",
        "d",
        "points",
        "fill",
        "stroke",
        "stroke-width",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-miterlimit",
        "stroke-dasharray",
        "stroke-opacity",
        "fill-opacity",
        "fill-rule",
        "clip-rule",
        "opacity",
        "transform",
        "offset",
        "stop-color",
        "stop-opacity",
        "gradientunits",
        "gradienttransform",
        "fx",
        "fy",
        "clip-path",
        "mask",
        "font-size",
        "font-weight",
        "font-family",
        "text-anchor",
        "dominant-baseline",
        "preserveaspectratio",
        "href",
        "role",
        "aria-label",
        "aria-hidden",
        "focusable",
        "version",
    ]
)
_URL_REF = re.compile(r"url\(\s*['\"]?([^)'\"]*)", re.IGNORECASE)


@dataclass(frozen=True)
class CleanLogo:
    data: bytes
    extension: str
    content_type: str

    @property
    def name(self) -> str:
        return f"brand/logo-{hashlib.sha256(self.data).hexdigest()[:16]}.{self.extension}"


def _svg_clean(data: bytes) -> CleanLogo:
    try:
        root = SafeElementTree.fromstring(data, forbid_dtd=True)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as error:
        raise ValidationError(_("The SVG file cannot be read: %(error)s") % {"error": error})
    if root.tag != f"{{{SVG_NS}}}svg":
        raise ValidationError(_("The file is not an SVG image (its root element is not <svg>)."))
    for element in root.iter():
        local = element.tag.rsplit("}", 1)[-1].lower() if isinstance(element.tag, str) else ""
        if not element.tag.startswith(f"{{{SVG_NS}}}") or local not in SVG_ELEMENTS:
            raise ValidationError(
                _("The SVG logo may only draw shapes and text; <%(name)s> is not allowed.")
                % {"name": local or "?"}
            )
        for attribute, value in list(element.attrib.items()):
            name = attribute.rsplit("}", 1)[-1].lower()
            namespaced = attribute.startswith("{")
            if namespaced and not attribute.startswith(f"{{{XLINK_NS}}}"):
                del element.attrib[attribute]
                continue
            if name not in SVG_ATTRIBUTES:
                raise ValidationError(
                    _(
                        "The SVG logo may not carry the attribute %(name)s (scripts, styles "
                        "and links are refused)."
                    )
                    % {"name": name}
                )
            if name == "href" and not value.startswith("#"):
                raise ValidationError(_("The SVG logo may not refer to other files."))
            for ref in _URL_REF.findall(value):
                if not ref.strip().startswith("#"):
                    raise ValidationError(_("The SVG logo may not refer to other files."))
    ElementTree.register_namespace("", SVG_NS)
    ElementTree.register_namespace("xlink", XLINK_NS)
    cleaned = ElementTree.tostring(root, encoding="utf-8", xml_declaration=False)
    return CleanLogo(data=cleaned, extension="svg", content_type="image/svg+xml")


def _png_clean(data: bytes) -> CleanLogo:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format != "PNG":
                    raise ValidationError(_("The logo must be a PNG or an SVG image."))
                if probe.width * probe.height > LOGO_MAX_PIXELS:
                    raise ValidationError(_("The logo is too large; use at most 1024×1024."))
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                target = "RGBA" if image.mode in ("RGBA", "LA", "PA", "P") else "RGB"
                clean = image.convert(target)
        except ValidationError:
            raise
        except (
            Image.DecompressionBombError,
            Image.DecompressionBombWarning,
            UnidentifiedImageError,
            OSError,
            SyntaxError,
            ValueError,
            EOFError,
        ):
            raise ValidationError(_("The logo must be a PNG or an SVG image.")) from None
    clean.thumbnail((LOGO_MAX_SIDE, LOGO_MAX_SIDE))
    pixels = Image.new(clean.mode, clean.size)  # only the pixels: no text chunks, no profile
    pixels.paste(clean)
    out = io.BytesIO()
    pixels.save(out, format="PNG", optimize=True)
    return CleanLogo(data=out.getvalue(), extension="png", content_type="image/png")


def logo_clean(*, data: bytes) -> CleanLogo:
    """Recognise ``data`` as a PNG or SVG logo by its content and return a clean copy.

    Raises ``ValidationError`` saying why a file is refused."""
    if not data:
        raise ValidationError(_("The file is empty."))
    if len(data) > LOGO_MAX_BYTES:
        raise ValidationError(_("The logo is larger than 512 KB."))
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png_clean(data)
    head = data[:512].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg", b"<!--", b"<!doctype")):
        return _svg_clean(data)
    raise ValidationError(_("The logo must be a PNG or an SVG image."))


def logo_upload_clean(*, upload) -> CleanLogo:
    """Read an uploaded file (within the size limit) and clean it."""
    if getattr(upload, "size", 0) and upload.size > LOGO_MAX_BYTES:
        raise ValidationError(_("The logo is larger than 512 KB."))
    if hasattr(upload, "seek"):
        upload.seek(0)
    return logo_clean(data=upload.read(LOGO_MAX_BYTES + 1))
