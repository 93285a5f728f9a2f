"""Invoice and credit note PDFs, drawn from a document's snapshot (fpdf2, pip-only).

Text is shaped by HarfBuzz (``uharfbuzz``) through fpdf2's text shaping, so Arabic is
joined and ordered right to left; the font is DejaVu Sans (Latin and Arabic, committed in
``invoices/fonts`` with its licence). An Arabic document is laid out right to left (the
page mirrored); a Saudi (ZATCA) document is bilingual, Arabic and English labels, with
the TLV QR code. Rendering depends only on the snapshot: the same document always gives
the same text.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import NumberPattern, format_decimal, parse_pattern
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from fpdf import FPDF
from fpdf.drawing_primitives import DeviceCMYK, DeviceGray, DeviceRGB, convert_to_device_color

from core.money import currency_precision

from .pdf_fonts import CachedBidiMixin, DocumentOutputProducer, document_fonts_add
from .pdf_text import TextRunsMixin
from .zatca import zatca_qr_matrix, zatca_tlv_encode

logging.getLogger("fontTools").setLevel(logging.WARNING)  # one INFO line per table subset

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "dejavu"

INK = (33, 37, 41)
MUTED = (108, 117, 125)
RULE = (206, 212, 218)
BAND = (241, 243, 245)
ACCENT = (31, 64, 104)


@lru_cache(maxsize=64)
def _locale(language: str) -> Locale:
    """The babel locale of ``language`` (parsed once per process: a Locale is read only)."""
    try:
        return Locale.parse((language or "en").replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return Locale.parse("en")


@lru_cache(maxsize=64)
def _number_pattern(pattern: str) -> NumberPattern:
    """A babel number pattern, parsed once per process (format_decimal parses a string
    pattern on every call)."""
    return parse_pattern(pattern)


@lru_cache(maxsize=4096)
def _decimal_text(number: str, pattern: str, language: str) -> str:
    """``number`` (a Decimal's text) formatted with babel; amounts repeat on an invoice
    (a line's total is the rate's and the invoice's) and across invoices (prices)."""
    return format_decimal(
        Decimal(number), format=_number_pattern(pattern), locale=_locale(language)
    )


@lru_cache(maxsize=64)
def _device_rgb(color: tuple[int, int, int]) -> DeviceRGB | DeviceGray | DeviceCMYK:
    """fpdf2's colour for ``color`` (what set_text_color builds on every call)."""
    return convert_to_device_color(*color)


@lru_cache(maxsize=64)
def _label_set(language: str) -> Mapping[str, str]:
    """Every label of the document in ``language`` (gettext: translatable), translated once
    per process (the catalogs do not change while it runs)."""
    with translation.override(language):
        return MappingProxyType(
            {
                "invoice": _("Invoice"),
                "simplified": _("Simplified tax invoice"),
                "credit_note": _("Credit note"),
                "number": _("Number"),
                "issue_date": _("Issue date"),
                "supply_date": _("Date of supply"),
                "order": _("Order"),
                "currency": _("Currency"),
                "seller": _("Seller"),
                "buyer": _("Bill to"),
                "vat_number": _("VAT number"),
                "company_number": _("Company registration"),
                "email": _("Email"),
                "country": _("Country"),
                "description": _("Description"),
                "qty": _("Qty"),
                "unit_price": _("Unit price"),
                "discount": _("Discount"),
                "net": _("Net"),
                "rate": _("VAT rate"),
                "vat": _("VAT"),
                "gross": _("Gross"),
                "vat_summary": _("VAT by rate"),
                "subtotal": _("Subtotal (list prices)"),
                "coupon": _("Discount (coupon %(code)s)"),
                "total_net": _("Total net"),
                "total_vat": _("Total VAT"),
                "total": pgettext("invoice", "Total paid"),
                "total_credited": _("Total credited"),
                "refers_to": _("Credits invoice %(number)s of %(date)s"),
                "reason": _("Reason"),
                "credited_note": _("The amount is refunded to the original payment method."),
                "paid_note": _("Paid in full. Prices include VAT where VAT applies."),
                "page": _("Page %(page)s of %(pages)s"),
                "amounts_in": _("Amounts in %(currency)s"),
                "qr": _("ZATCA QR code"),
            }
        )


def _first_strong_is_arabic(text: str) -> bool:
    for char in text:
        code = ord(char)
        if 0x0600 <= code <= 0x06FF or 0x0750 <= code <= 0x077F or 0xFB50 <= code <= 0xFEFF:
            return True
        if char.isalpha():
            return False
    return False


_SHAPING: dict[bool, dict[str, Any]] = {}  # fpdf2's text shaping settings, by right to left


class _Labels:
    """Labels in the document's language; both Arabic and English on a Saudi document."""

    def __init__(self, *, language: str, bilingual: bool) -> None:
        self.bilingual = bilingual
        self.main = _label_set("en" if bilingual else language)
        self.arabic = _label_set("ar") if bilingual else None

    def __call__(self, key: str, **params: Any) -> str:
        text = self.main[key] % params if params else self.main[key]
        if self.arabic is None:
            return text
        arabic = self.arabic[key] % params if params else self.arabic[key]
        return f"{text} / {arabic}" if arabic != text else text


class _Page(TextRunsMixin, CachedBidiMixin, FPDF):
    """A4 page, mm; ``put`` mirrors positions and alignment for a right-to-left page."""

    def __init__(self, *, rtl: bool, footer_text: str, page_label) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.rtl = rtl
        self.footer_text = footer_text
        self.page_label = page_label
        self.neutral_page_label = False
        self.set_margins(16, 16, 16)
        self.set_auto_page_break(auto=True, margin=22)
        document_fonts_add(pdf=self, family=FONT, files={"": FONT_DIR / "DejaVuSans.ttf",
                                                         "B": FONT_DIR / "DejaVuSans-Bold.ttf"})  # fmt: skip
        self.set_text_shaping(
            use_shaping_engine=True,
            direction="rtl" if rtl else "ltr",
            script="arab" if rtl else None,
            language="ar" if rtl else None,
        )
        self.alias_nb_pages("{nb}")
        self.set_creator("Keystore")

    def direction_for(self, text: str) -> None:
        """Shape ``text`` in its own direction (like ``dir="auto"``): right to left when its
        first strong letter is Arabic, else left to right, so names, emails, numbers and
        codes keep their order on an Arabic page; each run gets its own script."""
        rtl = _first_strong_is_arabic(text)
        shaping = _SHAPING.get(rtl)
        if shaping is None:  # what set_text_shaping sets, built by it once per process
            self.set_text_shaping(use_shaping_engine=True, direction="rtl" if rtl else "ltr")
            _SHAPING[rtl] = dict(self.text_shaping or {})
        else:
            self.text_shaping = dict(shaping)  # fpdf2 writes into it: one per run

    def font(self, size: float = 9, bold: bool = False, color=INK) -> None:
        self.set_font(FONT, "B" if bold else "", size)
        self.text_color = _device_rgb(color)

    def x_mirrored(self, x: float, w: float) -> float:
        return self.l_margin + self.epw - (x - self.l_margin) - w if self.rtl else x

    def align(self, align: str) -> str:
        if not self.rtl:
            return align
        return {"L": "R", "R": "L"}.get(align, align)

    def put(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        text: str,
        *,
        align: str = "L",
        fill: bool = False,
        fit: bool = False,
    ) -> None:
        """One line of text in a box; ``fit`` shrinks the font until the text fits."""
        self.set_xy(self.x_mirrored(x, w), y)
        self.direction_for(text)
        size = self.font_size_pt
        if fit:
            while size > 5.5 and self.text_width(text) > w - 2.5:
                size -= 0.5
                self.set_font_size(size)
        self.text_cell(w, h, text, align=self.align(align), fill=fill)

    def put_lines(
        self, x: float, y: float, w: float, h: float, text: str, *, align: str = "L"
    ) -> float:
        """Wrapped text; returns the y below it."""
        self.set_xy(self.x_mirrored(x, w), y)
        self.direction_for(text)
        self.text_box(w, h, text, align=self.align(align), new_x="LEFT", new_y="NEXT")
        return self.get_y()

    def qr_draw(self, *, matrix: Sequence[bytes], x: float, y: float, size: float,
                border: int = 2) -> None:  # fmt: skip
        """A QR code in a ``size`` mm square at (x, y), its quiet zone ``border`` modules
        wide: each run of dark modules in a row one filled rectangle (vector: no image to
        encode or decode; edges on the module grid, so adjacent rows meet exactly)."""
        count = len(matrix) + 2 * border
        k = self.k
        xs = [round((x + size * index / count) * k, 3) for index in range(count + 1)]
        ys = [round((self.h - (y + size * index / count)) * k, 3) for index in range(count + 1)]
        ops = ["q 0 g"]
        for row_index, row in enumerate(matrix):
            top, bottom = ys[row_index + border], ys[row_index + border + 1]
            start = row.find(1)
            while start >= 0:
                end = row.find(0, start)
                if end < 0:
                    end = len(row)
                left, right = xs[start + border], xs[end + border]
                ops.append(f"{left:.3f} {bottom:.3f} {right - left:.3f} {top - bottom:.3f} re")
                start = row.find(1, end)
        ops.append("f Q")
        self._out(" ".join(ops))

    def rule(self, y: float, color=RULE, width: float = 0.2) -> None:
        self.set_draw_color(*color)
        self.set_line_width(width)
        self.line(self.l_margin, y, self.l_margin + self.epw, y)

    def footer(self) -> None:
        self.set_y(-16)
        self.rule(self.get_y() - 1)
        self.font(7, color=MUTED)
        self.put(self.l_margin, self.get_y(), self.epw * 0.75, 4, self.footer_text)
        label = self.page_label(page=self.page_no(), pages="{nb}")
        if self.rtl or self.neutral_page_label:
            label = f"{self.page_no()} / {{nb}}"
        self.put(
            self.l_margin + self.epw * 0.75, self.get_y(), self.epw * 0.25, 4, label, align="R"
        )


class DocumentRenderer:
    def __init__(self, snapshot: dict[str, Any]) -> None:
        self.doc = snapshot
        self.language = snapshot.get("language") or "en"
        self.bilingual = bool(snapshot.get("bilingual_arabic"))
        self.rtl = self.language == "ar" and not self.bilingual
        self.number_language = "en" if self.bilingual else self.language
        self.number_locale = _locale(self.number_language)
        self.label = _Labels(language=self.language, bilingual=self.bilingual)
        self.currency = snapshot["currency"]
        seller = snapshot["seller"]
        footer = " · ".join(
            part
            for part in (
                seller.get("legal_name"),
                ", ".join(seller.get("address_lines") or []),
                seller.get("support_email"),
            )
            if part
        )
        self.pdf = _Page(
            rtl=self.rtl,
            footer_text=footer,
            page_label=lambda **params: self.label("page", **params),
        )
        self.pdf.neutral_page_label = self.bilingual

    # --- formatting ---------------------------------------------------------------------

    def amount(self, value: str | Decimal, *, negative: bool = False) -> str:
        places = currency_precision(currency=self.currency)
        number = Decimal(value)
        if negative and number:
            number = -number
        pattern = "#,##0" + ("." + "0" * places if places else "")
        return _decimal_text(str(number), pattern, self.number_language)

    def pair(self, label: str, value: str) -> str:
        """``label: value``; on a bilingual page a left-to-right mark keeps a number after an
        Arabic label on the right of the colon."""
        return f"{label}:\u200e {value}" if self.bilingual else f"{label}: {value}"

    def rate(self, value: str) -> str:
        return _decimal_text(str(Decimal(value)), "0.##", self.number_language) + " %"

    def date(self, iso: str) -> str:
        moment = datetime.fromisoformat(iso).astimezone(
            zoneinfo.ZoneInfo(self.doc.get("time_zone") or "UTC")
        )
        if self.bilingual:  # one reading for both languages
            return moment.date().isoformat()
        return format_date(moment.date(), format="long", locale=_locale(self.language))

    def country(self, code: str) -> str:
        if not code:
            return ""
        name = _locale(self.language).territories.get(code.upper(), code)
        if self.bilingual:
            english = _locale("en").territories.get(code.upper(), code)
            arabic = _locale("ar").territories.get(code.upper(), code)
            return f"{english} / {arabic} ({code})"
        return f"{name} ({code})"

    # --- drawing ------------------------------------------------------------------------

    def render(self) -> bytes:
        self.render_pages()
        return bytes(self.pdf.output(output_producer_class=DocumentOutputProducer))

    def render_pages(self) -> None:
        """Every page drawn, the file not yet written."""
        pdf = self.pdf
        pdf.add_page()
        is_credit = self.doc["type"] == "credit_note"
        self.pdf.set_title(self.doc["number"])
        y = self.header(is_credit=is_credit)
        y = self.parties(y)
        if is_credit:
            y = self.credit_reference(y)
        y = self.lines_table(y, is_credit=is_credit)
        y = self.totals(y, is_credit=is_credit)
        self.closing(y, is_credit=is_credit)

    def title(self, *, is_credit: bool) -> list[str]:
        if is_credit:
            return [self.label("credit_note")]
        if self.doc["kind"] == "simplified":
            if self.label.arabic is not None:  # bilingual
                return [self.label.arabic["simplified"], self.label.main["simplified"]]
            return [self.label("simplified")]
        return [self.label("invoice")]

    def header(self, *, is_credit: bool) -> float:
        pdf = self.pdf
        seller = self.doc["seller"]
        left_w = 98
        x0 = pdf.l_margin
        # seller block
        pdf.font(13, bold=True, color=ACCENT)
        pdf.put(x0, 16, left_w, 7, seller.get("legal_name") or seller.get("name") or "")
        pdf.font(8.5)
        y = 24.0
        for line in seller.get("address_lines") or []:
            pdf.put(x0, y, left_w, 4.2, line)
            y += 4.2
        facts = [
            (self.label("vat_number"), seller.get("vat_number")),
            (self.label("company_number"), seller.get("company_number")),
            (self.label("email"), seller.get("support_email")),
        ]
        for label, value in facts:
            if value:
                pdf.put(x0, y, left_w, 4.2, self.pair(label, value))
                y += 4.2
        # title block
        right_x = x0 + left_w + 4
        right_w = pdf.epw - left_w - 4
        qr = self.qr_matrix() if (self.bilingual and not is_credit) else None
        title_w = right_w - (34 if qr else 0)
        ty = 16.0
        pdf.font(15 if len(self.title(is_credit=is_credit)) == 1 else 12.5, bold=True, color=ACCENT)
        for line in self.title(is_credit=is_credit):
            pdf.put(right_x, ty, title_w, 7, line, align="R")
            ty += 7
        pdf.font(8.5)
        meta = [
            (self.label("number"), self.doc["number"]),
            (self.label("issue_date"), self.date(self.doc["issued_at"])),
            (self.label("supply_date"), self.date(self.doc["supply_date"])),
            (self.label("order"), self.doc["order_number"]),
            (self.label("currency"), self.currency),
        ]
        ty += 1
        for label, value in meta:
            if self.bilingual:
                pdf.font(7.5, color=MUTED)
                pdf.put(right_x, ty, title_w, 3.8, label, align="R")
                ty += 3.8
                pdf.font(8.5, bold=label == meta[0][0])
                pdf.put(right_x, ty, title_w, 4.4, value, align="R")
                ty += 4.6
            else:
                pdf.font(8.5, color=MUTED)
                pdf.put(right_x, ty, title_w - 44, 4.6, label, align="R")
                pdf.font(8.5, bold=label == meta[0][0])
                pdf.put(right_x + title_w - 42, ty, 42, 4.6, value, align="R")
                ty += 4.6
        if qr:
            qx = pdf.x_mirrored(x0 + pdf.epw - 32, 32)
            pdf.qr_draw(matrix=qr, x=qx, y=16, size=32)
            pdf.font(6.5, color=MUTED)
            pdf.put(x0 + pdf.epw - 32, 48.5, 32, 3.5, self.label.main["qr"], align="C")
            ty = max(ty, 53)
        y = max(y, ty) + 4
        pdf.rule(y, color=ACCENT, width=0.5)
        return y + 4

    def parties(self, y: float) -> float:
        pdf = self.pdf
        buyer = self.doc["buyer"]
        x0 = pdf.l_margin
        pdf.font(7.5, bold=True, color=MUTED)
        pdf.put(x0, y, 100, 4.5, self.label("buyer").upper())
        y += 5
        pdf.font(10, bold=True)
        pdf.put(x0, y, 120, 5, buyer.get("company") or buyer.get("name") or "")
        y += 5.5
        pdf.font(8.5)
        rows = []
        if buyer.get("company") and buyer.get("name"):
            rows.append(buyer["name"])
        rows.append(buyer.get("email") or "")
        if buyer.get("country"):
            rows.append(self.pair(self.label("country"), self.country(buyer["country"])))
        if buyer.get("vat_number"):
            rows.append(self.pair(self.label("vat_number"), buyer["vat_number"]))
        for row in rows:
            pdf.put(x0, y, 150, 4.3, row)
            y += 4.3
        return y + 4

    def credit_reference(self, y: float) -> float:
        pdf = self.pdf
        pdf.set_fill_color(*BAND)
        pdf.font(8.5, bold=True)
        text = self.label(
            "refers_to",
            number=self.doc["invoice_number"],
            date=self.date(self.doc["invoice_issued_at"]),
        )
        pdf.put(pdf.l_margin, y, pdf.epw, 6, " " + text, fill=True)
        y += 6
        pdf.font(8.5)
        pdf.put(pdf.l_margin, y, pdf.epw, 5, f" {self.label('reason')}: {self.doc['reason']}")
        return y + 8

    def columns(self, *, is_credit: bool) -> list[tuple[str, float, str, str]]:
        """(label, width, align, field) of the line table."""
        if is_credit:
            return [
                (self.label("description"), 82, "L", "description"),
                (self.label("net"), 24, "R", "net"),
                (self.label("rate"), 20, "R", "rate"),
                (self.label("vat"), 24, "R", "tax"),
                (self.label("gross"), 28, "R", "gross"),
            ]
        return [
            (self.label("description"), 52, "L", "description"),
            (self.label("qty"), 11, "R", "quantity"),
            (self.label("unit_price"), 21, "R", "unit_price"),
            (self.label("discount"), 19, "R", "discount"),
            (self.label("net"), 20, "R", "net"),
            (self.label("rate"), 16, "R", "rate"),
            (self.label("vat"), 18, "R", "tax"),
            (self.label("gross"), 21, "R", "gross"),
        ]

    def cell_text(self, line: dict[str, Any], field: str, *, is_credit: bool) -> str:
        value = line.get(field, "")
        if field == "description":
            return str(value)
        if field == "quantity":
            return format_decimal(int(value), locale=self.number_locale)
        if field == "rate":
            return self.rate(value)
        if field == "discount" and Decimal(value or 0) == 0:
            return "–"
        return self.amount(value, negative=is_credit or field == "discount")

    def lines_table(self, y: float, *, is_credit: bool) -> float:
        pdf = self.pdf
        columns = self.columns(is_credit=is_credit)
        pdf.font(7, color=MUTED)
        pdf.put(pdf.l_margin, y, pdf.epw, 4, self.label("amounts_in", currency=self.currency))
        y += 4.5
        header_h = 9 if self.bilingual else 6
        pdf.set_fill_color(*ACCENT)
        pdf.set_text_color(255, 255, 255)
        pdf.set_font(FONT, "B", 6.8 if self.bilingual else 7.5)
        pdf.set_xy(pdf.l_margin, y)
        pdf.text_cell(pdf.epw, header_h, "", fill=True)
        x = pdf.l_margin
        for label, width, align, _field in columns:
            pdf.set_xy(pdf.x_mirrored(x, width), y + (0.6 if self.bilingual else 0))
            pdf.direction_for(label)
            pdf.text_box(
                width,
                header_h / 2 if self.bilingual else header_h,
                label.replace(" / ", "\n") if self.bilingual else label,
                align=pdf.align(align),
                padding=(0, 1),
            )
            x += width
        y += header_h + 1
        for index, line in enumerate(self.doc["lines"]):
            desc_w = columns[0][1]
            pdf.font(8.5)
            pdf.direction_for(str(line["description"]))
            rows = pdf.text_box_line_count(desc_w, 4.6, str(line["description"]), padding=(0, 1))
            height = max(1, rows) * 4.6 + 2
            if y + height > pdf.h - pdf.b_margin:
                pdf.add_page()
                y = pdf.t_margin
            if index % 2:
                pdf.set_fill_color(*BAND)
                pdf.set_xy(pdf.l_margin, y)
                pdf.text_cell(pdf.epw, height, "", fill=True)
            x = pdf.l_margin
            for _label, width, align, field in columns:
                text = self.cell_text(line, field, is_credit=is_credit)
                pdf.set_xy(pdf.x_mirrored(x, width), y + 1)
                pdf.direction_for(text)
                pdf.text_box(width, 4.6, text, align=pdf.align(align), padding=(0, 1))
                x += width
            y += height
        pdf.rule(y)
        return y + 4

    def totals(self, y: float, *, is_credit: bool) -> float:
        """The VAT by rate and the totals: side by side, or (bilingual labels are long)
        the totals first and the rates below."""
        pdf = self.pdf
        if y + 50 > pdf.h - pdf.b_margin:
            pdf.add_page()
            y = pdf.t_margin
        if self.bilingual:
            ty = self.totals_block(pdf.l_margin + 50, pdf.epw - 50, y, is_credit=is_credit)
            return self.rate_summary(y=ty + 5, is_credit=is_credit) + 6
        ry = self.rate_summary(y=y, is_credit=is_credit)
        ty = self.totals_block(pdf.l_margin + 92, pdf.epw - 92, y, is_credit=is_credit)
        return max(ry, ty) + 6

    def rate_summary(self, *, y: float, is_credit: bool) -> float:
        pdf = self.pdf
        x0 = pdf.l_margin
        pdf.font(7.5, bold=True, color=MUTED)
        pdf.put(x0, y, 120, 4.5, self.label("vat_summary").upper())
        y += 5
        widths = [(self.label("rate"), 16), (self.label("net"), 24), (self.label("vat"), 22),
                  (self.label("gross"), 26)]  # fmt: skip
        for label, width in widths:
            pdf.set_font(FONT, "B", 7)
            pdf.set_text_color(*MUTED)
            pdf.put(x0, y, width, 4, label.split(" / ")[0], align="R")
            if self.bilingual:
                pdf.put(x0, y + 3.8, width, 4, label.split(" / ")[-1], align="R")
            x0 += width
        y += 8.5 if self.bilingual else 4.5
        pdf.font(8.5)
        for rate in self.doc["rates"]:
            x = pdf.l_margin
            values = (
                self.rate(rate["rate"]),
                self.amount(rate["net"], negative=is_credit),
                self.amount(rate["tax"], negative=is_credit),
                self.amount(rate["gross"], negative=is_credit),
            )
            for (_label, width), value in zip(widths, values, strict=True):
                pdf.put(x, y, width, 4.6, value, align="R")
                x += width
            y += 4.6
        return y

    def totals_block(self, tx: float, tw: float, y: float, *, is_credit: bool) -> float:
        pdf = self.pdf
        totals = self.doc["totals"]
        rows: list[tuple[str, str]] = []
        if not is_credit:
            discount = Decimal(totals.get("discount") or 0)
            if discount:
                code = self.doc.get("coupon_code")
                label = self.label("coupon", code=code) if code else self.label("discount")
                rows.append((self.label("subtotal"), self.amount(totals["subtotal"])))
                rows.append((label, self.amount(discount, negative=True)))
        rows += [
            (self.label("total_net"), self.amount(totals["net"], negative=is_credit)),
            (self.label("total_vat"), self.amount(totals["tax"], negative=is_credit)),
        ]
        for label, value in rows:
            pdf.font(8.5, color=MUTED)
            pdf.put(tx, y, tw - 32, 5, label, align="R", fit=True)
            pdf.font(8.5)
            pdf.put(tx + tw - 32, y, 32, 5, value, align="R")
            y += 5
        y += 1
        pdf.set_fill_color(*ACCENT)
        pdf.set_text_color(255, 255, 255)
        pdf.set_font(FONT, "B", 9.5)
        total_label = self.label("total_credited" if is_credit else "total")
        pdf.put(tx, y, tw - 32, 7.5, f"{total_label} ({self.currency})", align="R", fill=True,
                fit=True)  # fmt: skip
        amount = self.amount(totals["gross"], negative=is_credit)
        pdf.put(tx + tw - 32, y, 32, 7.5, amount + " ", align="R", fill=True)
        return y + 7.5

    def closing(self, y: float, *, is_credit: bool) -> None:
        pdf = self.pdf
        for mention in self.doc.get("mentions") or []:
            pdf.font(8.5, bold=True)
            y = pdf.put_lines(pdf.l_margin, y, pdf.epw, 4.6, mention["text"]) + 1.5
        pdf.font(8, color=MUTED)
        note = self.label("credited_note" if is_credit else "paid_note")
        pdf.put_lines(pdf.l_margin, y + 1, pdf.epw, 4.3, note)

    # --- ZATCA ----------------------------------------------------------------------------

    def qr_payload(self) -> str:
        seller = self.doc["seller"]
        return zatca_tlv_encode(
            seller_name=seller.get("legal_name") or seller.get("name") or "",
            vat_number=seller.get("vat_number") or "",
            timestamp=datetime.fromisoformat(self.doc["issued_at"])
            .astimezone(UTC)
            .strftime("%Y-%m-%dT%H:%M:%SZ"),
            total=self.doc["totals"]["gross"],
            vat_total=self.doc["totals"]["tax"],
        )

    def qr_matrix(self) -> tuple[bytearray, ...]:
        return zatca_qr_matrix(payload=self.qr_payload())


def document_pdf_render(*, snapshot: dict[str, Any]) -> bytes:
    """The PDF of an invoice or credit note snapshot."""
    return DocumentRenderer(snapshot).render()


def document_qr_payload(*, snapshot: dict[str, Any]) -> str:
    """The ZATCA TLV payload (base64) a Saudi invoice's QR code holds."""
    return DocumentRenderer(snapshot).qr_payload()
