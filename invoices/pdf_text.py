"""Text written into the page's content stream directly, as fpdf2 2.8.9 writes it.

fpdf2's ``cell()`` and ``multi_cell()`` spend most of an invoice's CPU around the text
rather than on it: splitting each string character by character into fragments (bidi
runs, then scripts), copying the graphics state for each fragment, breaking lines one
character width at a time, building ``TextLine`` objects, then formatting the operators.
For the same text, font, size, width and shaping settings the fragments and the line
breaks are always the same, so ``TextRunsMixin`` asks fpdf2 once per process (its own
``_preload_bidirectional_text``, ``MultiLineBreak`` and ``TextLine.get_ordered_fragments``,
so the answer is fpdf2's) and keeps it. A cell then only formats its operators, which are
fpdf2's ``_render_styled_text_line`` and ``Fragment.render_with_text_shaping``: the same
``re f``, ``BT .. Td``, colour, ``Tf``, ``Tj`` and ``Tm`` operators in the same order
with the same numbers, and each glyph gets its subset code in the same order, so the page
is byte for byte what fpdf2 writes (``tests/invoices/test_pdf_shared_fonts.py`` compares
every sample document's pages with fpdf2 alone).

Only what the invoice uses is written here: one TrueType font from ``invoices.pdf_fonts``
per cell, text shaping on, no markdown, links, borders, underline, strikethrough, char
spacing, stretching, text rise or text mode, left/right/centred text. Anything else (a
page break, the page count alias, fallback fonts, justified text, another font) is
handed to fpdf2 itself.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from fpdf import FPDF
from fpdf.enums import Align, CharVPos, TextDirection, TextMode, WrapMode, XPos, YPos
from fpdf.line_break import Fragment, MultiLineBreak, TextLine
from fpdf.util import escape_parens

from .pdf_fonts import DocumentFont, _Run, shaping_params_key

CACHED = 4096  # texts (or texts in a box) per process; labels repeat, values vary


@dataclass(frozen=True, slots=True)
class _Piece:
    """One fragment of a line: its text and fpdf2's text shaping parameters for it."""

    text: str
    params: dict[str, Any]  # read only once cached
    params_key: Hashable  # shaping_params_key(params): what the shaped run depends on


@dataclass(frozen=True, slots=True)
class _Line:
    pieces: tuple[_Piece, ...]  # logical order: widths are summed in this order
    order: tuple[int, ...]  # display order (TextLine.get_ordered_fragments)
    text_width: float  # fpdf2's TextLine.text_width (0: summed from the pieces)
    max_width: float | None
    trailing_nl: bool


class _Cache:
    def __init__(self) -> None:
        self._items: dict[Hashable, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        return self._items.get(key)  # one dict read: atomic

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            if len(self._items) >= CACHED:  # bounded: names and amounts vary
                self._items.clear()
            self._items[key] = value


_cells = _Cache()
_boxes = _Cache()
_escaped: dict[int, str] = {}


@lru_cache(maxsize=64)
def _color_operator(color: Any) -> str:
    """fpdf2's fill colour operator for ``color`` (``color.serialize().lower()``)."""
    return str(color.serialize()).lower()


def _escape(code: int) -> str:
    """fpdf2's ``TTFFont.escape_text(chr(code))``: two bytes, parens and backslash escaped."""
    text = _escaped.get(code)
    if text is None:
        text = escape_parens(chr(code).encode("utf-16-be").decode("latin-1"))
        _escaped[code] = text
    return text


def _piece(fragment: Fragment) -> _Piece:
    params = dict(fragment.text_shaping_parameters or {})
    return _Piece("".join(fragment.characters), params, shaping_params_key(params))


def _line_from(fragments: Sequence[Fragment], text_line: TextLine) -> _Line | None:  # fmt: skip
    if any(type(fragment) is not Fragment for fragment in fragments):
        return None  # the page count alias: fpdf2 substitutes it at output
    ordered = text_line.get_ordered_fragments()
    index = {id(fragment): i for i, fragment in enumerate(fragments)}
    return _Line(
        pieces=tuple(_piece(fragment) for fragment in fragments),
        order=tuple(index[id(fragment)] for fragment in ordered),
        text_width=text_line.text_width,
        max_width=text_line.max_width,
        trailing_nl=text_line.trailing_nl,
    )


class TextRunsMixin:
    """``text_cell`` is ``cell(w, h, text, align=, fill=)`` and ``text_box`` is
    ``multi_cell(w, h, text, align=, padding=, new_x=, new_y=)``, written directly when the
    page is in a state this module writes exactly as fpdf2 does, else by fpdf2."""

    # --- when to write directly ---------------------------------------------------------

    def _direct_font(self) -> DocumentFont | None:
        pdf = cast(FPDF, self)
        font = pdf.current_font
        if (
            not isinstance(font, DocumentFont)
            or not pdf.text_shaping
            or pdf._fallback_font_ids
            or pdf._record_text_quad_points
            or pdf.char_spacing != 0
            or pdf.font_stretching != 100
            or pdf.underline
            or pdf.strikethrough
            or pdf.text_mode != TextMode.FILL
            or pdf.char_vpos != CharVPos.LINE
            or pdf.buffer
        ):
            return None
        return font

    def _shaping_key(self) -> Hashable:
        pdf = cast(FPDF, self)
        shaping = pdf.text_shaping or {}
        features = shaping.get("features")
        return (shaping.get("direction"), shaping.get("script"), shaping.get("language"),
                tuple(features.items()) if features else None, pdf.str_alias_nb_pages,
                pdf.current_font.fontkey if pdf.current_font else None)  # fmt: skip

    # --- cell -----------------------------------------------------------------------------

    def _cell_line(self, text: str) -> _Line | None:
        pdf = cast(FPDF, self)
        key = (text, self._shaping_key())
        line = _cells.get(key)
        if line is None:
            fragments = pdf._preload_bidirectional_text(text, False)
            line = _line_from(fragments, TextLine(fragments, text_width=0, number_of_spaces=0,
                                                  align=Align.L, height=0, max_width=0,
                                                  trailing_nl=False))  # fmt: skip
            if line is not None:
                _cells.put(key, line)
        return cast(_Line | None, line)

    def text_width(self, text: str) -> float:
        """``get_string_width(text)``: the widths of fpdf2's fragments of the text, summed."""
        pdf = cast(FPDF, self)
        font = self._direct_font()
        line = self._cell_line(text) if font is not None else None
        if font is None or line is None:
            return pdf.get_string_width(text)
        size_pt = pdf.font_size_pt
        if line.pieces and size_pt > font.biggest_size_pt:
            font.biggest_size_pt = size_pt
        return sum(font.shaped_text_width(piece.text, size_pt, piece.params)[1] / pdf.k
                   for piece in line.pieces)  # fmt: skip

    def text_cell(self, w: float, h: float, text: str, *, align: str = "L",
                  fill: bool = False) -> None:  # fmt: skip
        pdf = cast(FPDF, self)
        font = self._direct_font()
        line = None
        if font is not None and not pdf.will_page_break(h):
            line = self._cell_line(text)
        if font is None or line is None:
            pdf.cell(w, h, text, align=align, fill=fill)
            return
        self._line_write(font=font, line=line, w=w, h=h, align=align, fill=fill, pad_left=0,
                         pad_right=0)  # fmt: skip
        pdf.x += w

    # --- multi_cell -----------------------------------------------------------------------

    def _box_lines(self, w: float, text: str, *, align: str,
                   padding: tuple[int, int]) -> tuple[_Line, ...] | None:  # fmt: skip
        """fpdf2's line breaking of ``text`` in a box ``w`` wide, ``padding`` (top/bottom,
        left/right) as in ``multi_cell``, cached; None when fpdf2 must draw it."""
        pdf = cast(FPDF, self)
        font = self._direct_font()
        if font is None or align not in ("L", "R", "C"):
            return None
        inner = w - padding[1] - padding[1]
        clearance = () if padding[1] else (pdf.c_margin, pdf.c_margin)
        key = (text, inner, clearance, align, pdf.font_size_pt, self._shaping_key())
        lines = _boxes.get(key)
        if lines is None:
            fragments = pdf._preload_bidirectional_text(text.replace("\r", ""), False)
            breaker = MultiLineBreak(fragments, inner, list(clearance), align=Align.coerce(align),
                                     print_sh=False, wrapmode=WrapMode.WORD)  # fmt: skip
            found = []
            text_line = breaker.get_line()
            while text_line is not None:
                found.append(_line_from(text_line.fragments, text_line))
                text_line = breaker.get_line()
            if not found:
                found = [_Line(pieces=(), order=(), text_width=0, max_width=inner,
                               trailing_nl=False)]  # fmt: skip
            if any(line is None for line in found):
                return None
            lines = tuple(cast(list[_Line], found))
            _boxes.put(key, lines)
        return cast(tuple[_Line, ...], lines)

    def text_box_line_count(self, w: float, h: float, text: str, *,
                            padding: tuple[int, int] = (0, 0)) -> int:  # fmt: skip
        """How many lines ``text_box`` writes (``multi_cell(dry_run=True, output="LINES")``)."""
        lines = self._box_lines(w, text, align="L", padding=padding)
        if lines is None:
            pdf = cast(FPDF, self)
            # output="LINES": the list of lines (the stubs type every output mode at once)
            rows = cast(list[str], pdf.multi_cell(w, h, text, dry_run=True, output="LINES",
                                                  padding=padding))  # fmt: skip
            return len(rows)
        return len(lines)

    def text_box(self, w: float, h: float, text: str, *, align: str = "L",
                 padding: tuple[int, int] = (0, 0), new_x: str = "RIGHT",
                 new_y: str = "NEXT") -> None:  # fmt: skip
        pdf = cast(FPDF, self)
        lines = self._box_lines(w, text, align=align, padding=padding)
        font = self._direct_font()
        pad_v, pad_h = padding
        if lines is not None:
            y = pdf.y + pad_v
            for _line in lines:  # fpdf2's will_page_break(h + padding) before each line
                if y + (h + pad_v) > pdf.page_break_trigger and not pdf.in_footer and (
                        pdf.accept_page_break):  # fmt: skip
                    lines = None
                    break
                y += h
        if lines is None or font is None or new_x not in ("RIGHT", "LEFT") or (
                new_y not in ("NEXT", "TOP")) or lines[-1].trailing_nl:  # fmt: skip
            pdf.multi_cell(w, h, text, align=align, padding=padding, new_x=new_x, new_y=new_y)
            return
        prev_y = pdf.y
        pdf.x += pad_h
        pdf.y += pad_v
        for index, line in enumerate(lines):
            self._line_write(font=font, line=line, w=cast(float, line.max_width), h=h,
                             align=align, fill=False, pad_left=pad_h, pad_right=pad_h)  # fmt: skip
            if index < len(lines) - 1 or new_y == "NEXT":
                pdf.y += h
        if new_x == "RIGHT":
            pdf.x += cast(float, lines[-1].max_width)
        if new_y == "TOP":
            pdf.y = prev_y
        else:
            pdf.y += pad_v
        if new_x == "RIGHT":
            pdf.x += pad_h
        else:
            pdf.x -= pad_h

    # --- fpdf2's _render_styled_text_line, for the cases above -----------------------------

    def _line_write(self, *, font: DocumentFont, line: _Line, w: float, h: float, align: str,
                    fill: bool, pad_left: float, pad_right: float) -> None:  # fmt: skip
        pdf = cast(FPDF, self)
        k = pdf.k
        size_pt = pdf.font_size_pt
        l_c_margin = pdf.c_margin if pad_left == 0 else 0.0
        x, y, page_h = pdf.x, pdf.y, pdf.h
        runs = [font.run_keyed(piece.text, size_pt, piece.params, piece.params_key)
                for piece in line.pieces]  # fmt: skip
        if runs and size_pt > font.biggest_size_pt:  # what get_text_width records
            font.biggest_size_pt = size_pt
        widths = [run.width / k for run in runs]  # Fragment.get_width
        styled_txt_width = line.text_width
        if not styled_txt_width:
            for width in widths:
                styled_txt_width += width
        ops: list[str] = []
        if fill:
            left = (x - 0) * k
            right = (x + w + 0) * k
            top = (page_h - y + 0) * k
            bottom = (page_h - (y + h) - 0) * k
            ops.append(f"{left:.2f} {top:.2f} {right - left:.2f} {bottom - top:.2f} re f")
        color_changed = False
        if line.pieces:
            max_font_size = size_pt / k
            if align == "R":
                dx = w - l_c_margin - styled_txt_width
            elif align == "C":
                dx = (w - styled_txt_width) / 2
            else:
                dx = l_c_margin
            ops.append(f"BT {(x + dx) * k:.2f} {(page_h - y - 0.5 * h - 0.3 * max_font_size) * k:.2f} Td")  # fmt: skip
            text_color = pdf.text_color
            if text_color != pdf.fill_color:
                ops.append(_color_operator(text_color))
                color_changed = True
            if not pdf.current_font_is_set_on_page:
                pdf._out(pdf._set_font_for_page(font, size_pt))
            s_width: float = 0
            base_y = y + (0.5 * h + 0.3 * max_font_size)
            for index in line.order:
                rendered = _piece_render(font=font, run=runs[index], size_pt=size_pt, k=k,
                                         pos_x=x + dx + s_width, pos_y=base_y, page_h=page_h)  # fmt: skip
                if rendered:
                    ops.append(rendered)
                s_width += widths[index]
            ops.append("ET")
        if ops:
            pdf._out(f"q {' '.join(ops)} Q" if color_changed else " ".join(ops))
        pdf._lasth = h


def _piece_render(*, font: DocumentFont, run: _Run, size_pt: float, k: float, pos_x: float,
                  pos_y: float, page_h: float) -> str:  # fmt: skip
    """fpdf2's ``Fragment.render_with_text_shaping`` (no word or char spacing, no stretching)."""
    ret = ""
    text = ""
    scale = font.scale
    codes = font.codes  # this document's codes: picked once per glyph, in fpdf2's order
    for glyph in run.glyphs:
        char = codes.get(glyph.key)
        if char is None:
            if glyph.entry is None:  # .notdef: a letter the font lacks is left out
                continue
            char = codes[glyph.key] = _escape(font.subset.pick_glyph(glyph.entry))  # type: ignore[arg-type]
        if glyph.x_offset != 0 or glyph.y_offset != 0:
            if text:
                ret += f"({text}) Tj "
                text = ""
            offsetx = pos_x + glyph.x_offset * scale * size_pt * 1.0 / 1000 / k
            offsety = pos_y - glyph.y_offset * scale * size_pt * 1.0 / 1000 / k
            ret += f"1 0 0 1 {(offsetx) * k:.2f} {(page_h - offsety) * k:.2f} Tm "
        text += char
        pos_x += glyph.x_advance * scale * size_pt * 1.0 / 1000 / k + 0.0
        pos_y += glyph.y_advance * scale * size_pt * 1.0 / 1000 / k
        if glyph.force_positioning:
            if text:
                ret += f"({text}) Tj "
                text = ""
            ret += f"1 0 0 1 {(pos_x) * k:.2f} {(page_h - pos_y) * k:.2f} Tm "
    if text:
        ret += f"({text}) Tj"
    return ret


__all__ = ["TextDirection", "TextRunsMixin", "XPos", "YPos"]
