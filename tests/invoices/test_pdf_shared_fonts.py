"""The invoice fonts are parsed once per process and shared by every PDF (invoices/pdf_fonts):
documents drawn one after another or at the same time each say exactly their own text,
glyphs the previous documents never used still draw and extract, and the embedded font
draws the very outlines fpdf2's own font subsetting embeds."""

import io
import random
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from fontTools.ttLib import TTFont
from fpdf import FPDF
from pypdf import PdfReader

from invoices.pdf import FONT, FONT_DIR, DocumentRenderer, _Page, document_pdf_render
from invoices.pdf_fonts import CachedBidiMixin, DocumentOutputProducer, document_fonts_add

from .snapshots import snapshot_sample

# Latin Extended letters (in the font, in no label nor sample) and Arabic ones
RARE_NAME = "Łukasz Żółtowski-Dvořák"
RARE_ARABIC = "ڤيصل ظافر"


class SharedFontsPDF(CachedBidiMixin, FPDF):
    pass


def undated(data: bytes) -> bytes:
    """The PDF without its creation time and the file identifier fpdf2 hashes it into (the
    only parts that move with the clock)."""
    data = re.sub(rb"/CreationDate \(D:\d+Z\)", b"", data)
    return re.sub(rb"/ID \[<[0-9A-F]+><[0-9A-F]+>\]", b"", data)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def embedded_fonts(data: bytes) -> dict[str, tuple[TTFont, bytes]]:
    """Each font of the first page: its embedded program and its CIDToGIDMap."""
    fonts = {}
    page = PdfReader(io.BytesIO(data)).pages[0]
    for font in page["/Resources"]["/Font"].values():
        font = font.get_object()
        cid_font = font["/DescendantFonts"][0].get_object()
        program = cid_font["/FontDescriptor"]["/FontFile2"].get_data()
        fonts[str(font["/BaseFont"])] = (TTFont(io.BytesIO(program)),
                                         cid_font["/CIDToGIDMap"].get_data())  # fmt: skip
    return fonts


def drawn_glyphs(font: TTFont, cid_to_gid: bytes) -> dict[int, tuple]:
    """code -> (outline points, end points, flags, advance width) of every code drawn."""
    glyf = font["glyf"]
    drawn = {}
    for code in range(len(cid_to_gid) // 2):
        glyph_id = cid_to_gid[2 * code] << 8 | cid_to_gid[2 * code + 1]
        if glyph_id == 0 and code:
            continue
        name = font.getGlyphName(glyph_id)
        coordinates, ends, flags = glyf[name].getCoordinates(glyf)
        drawn[code] = (list(coordinates), list(ends), bytes(flags), font["hmtx"][name][0])
    return drawn


def font_extremes(font: TTFont) -> tuple:
    """The font-wide figures renderers size their glyph caches from."""
    head, hhea = font["head"], font["hhea"]
    return (head.xMin, head.yMin, head.xMax, head.yMax, hhea.advanceWidthMax,
            hhea.minLeftSideBearing, hhea.minRightSideBearing, hhea.xMaxExtent)  # fmt: skip


def rare_snapshot():
    snapshot = snapshot_sample(language="en")
    snapshot["buyer"]["name"] = RARE_NAME
    return snapshot


def test_a_name_in_letters_no_earlier_document_used_draws_before_and_after_others():
    first = pdf_text(document_pdf_render(snapshot=rare_snapshot()))
    plain = pdf_text(document_pdf_render(snapshot=snapshot_sample(language="en")))
    again = pdf_text(document_pdf_render(snapshot=rare_snapshot()))
    assert RARE_NAME in first and RARE_NAME in again
    assert "Łukasz" not in plain and "Jonas Becker" in plain
    assert first == again


def test_an_arabic_name_with_rare_letters_draws_after_a_latin_document():
    document_pdf_render(snapshot=snapshot_sample(language="en"))
    snapshot = snapshot_sample(regime="ksa", language="ar")
    snapshot["buyer"]["name"] = RARE_ARABIC
    text = pdf_text(document_pdf_render(snapshot=snapshot))
    assert RARE_ARABIC in text
    assert "سارة" not in text


def test_the_same_snapshot_always_gives_the_same_pdf():
    snapshot = snapshot_sample(regime="ksa", language="ar")
    first = undated(document_pdf_render(snapshot=snapshot))
    document_pdf_render(snapshot=rare_snapshot())
    assert b"/CreationDate" not in first
    assert undated(document_pdf_render(snapshot=snapshot)) == first


def test_documents_drawn_at_the_same_time_in_threads_each_say_their_own_text():
    snapshots = {
        "en": (snapshot_sample(language="en"), "Jonas Becker"),
        "fr": (snapshot_sample(language="fr"), "Facture"),
        "ar": (snapshot_sample(language="ar"), "فاتورة"),
        "ksa": (snapshot_sample(regime="ksa", language="ar"), "سارة العتيبي"),
        "rare": (rare_snapshot(), RARE_NAME),
    }
    expected = {name: undated(document_pdf_render(snapshot=snap))
                for name, (snap, _) in snapshots.items()}  # fmt: skip
    jobs = [name for name in snapshots for _ in range(4)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda name: document_pdf_render(snapshot=snapshots[name][0]),
                                jobs))  # fmt: skip
    for name, data in zip(jobs, results, strict=True):
        assert undated(data) == expected[name], name
        assert snapshots[name][1] in pdf_text(data)


def test_the_embedded_font_draws_the_outlines_fpdf2_subsetting_embeds():
    """fpdf2 on its own (add_font, its fontTools subset) against the shared fonts, same
    page: the same codes in the text, each code drawn with the same outline and width, and
    the same font-wide bounds."""
    text = f"Invoice {RARE_NAME} 1 234,56 € — فاتورة ضريبية لا إله"

    def draw(pdf: FPDF, **output) -> bytes:
        pdf.add_page()
        pdf.set_text_shaping(use_shaping_engine=True, direction="ltr")
        for style in ("", "B"):
            pdf.set_font(FONT, style, 11)
            pdf.multi_cell(150, 6, text, new_x="LEFT", new_y="NEXT")
        return bytes(pdf.output(**output))

    stock = FPDF()
    stock.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
    stock.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    ours = SharedFontsPDF()
    document_fonts_add(pdf=ours, family=FONT, files={"": FONT_DIR / "DejaVuSans.ttf",
                                                     "B": FONT_DIR / "DejaVuSans-Bold.ttf"})  # fmt: skip
    reference = draw(stock)
    shared = draw(ours, output_producer_class=DocumentOutputProducer)
    assert pdf_text(shared) == pdf_text(reference)
    assert PdfReader(io.BytesIO(shared)).pages[0].get_contents().get_data() == (
        PdfReader(io.BytesIO(reference)).pages[0].get_contents().get_data()
    )
    reference_fonts, shared_fonts = embedded_fonts(reference), embedded_fonts(shared)
    assert reference_fonts.keys() == shared_fonts.keys() and len(shared_fonts) == 2
    for name, (font, cid_to_gid) in shared_fonts.items():
        expected = drawn_glyphs(*reference_fonts[name])
        assert len(expected) > 30
        assert drawn_glyphs(font, cid_to_gid) == expected, name
        assert font_extremes(font) == font_extremes(reference_fonts[name][0]), name


class StockPage(_Page):
    """The invoice page drawn by fpdf2 alone: add_font per document, fpdf2's own bidi, and
    every text through fpdf2's own cell() and multi_cell() (not invoices.pdf_text)."""

    _preload_bidirectional_text = FPDF._preload_bidirectional_text

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.fonts.clear()
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))

    def text_cell(self, w, h, text, *, align="L", fill=False) -> None:
        FPDF.cell(self, w, h, text, align=align, fill=fill)

    def text_box(self, w, h, text, *, align="L", padding=(0, 0), new_x="RIGHT",
                 new_y="NEXT") -> None:  # fmt: skip
        FPDF.multi_cell(self, w, h, text, align=align, padding=padding, new_x=new_x,
                        new_y=new_y)  # fmt: skip

    def text_width(self, text) -> float:
        return FPDF.get_string_width(self, text)

    def text_box_line_count(self, w, h, text, *, padding=(0, 0)) -> int:
        return len(FPDF.multi_cell(self, w, h, text, dry_run=True, output="LINES",
                                   padding=padding))  # fmt: skip


def stock_render(snapshot) -> bytes:
    renderer = DocumentRenderer(snapshot)
    shared = renderer.pdf
    renderer.pdf = StockPage(rtl=shared.rtl, footer_text=shared.footer_text,
                             page_label=shared.page_label)  # fmt: skip
    renderer.pdf.neutral_page_label = shared.neutral_page_label
    return renderer.render()


def page_streams(data: bytes) -> list[bytes]:
    return [page.get_contents().get_data() for page in PdfReader(io.BytesIO(data)).pages]


def sample_documents():
    for regime, language in (("oss", "en"), ("oss", "fr"), ("oss", "ar"), ("ksa", "ar"),
                             ("reverse_charge", "en")):  # fmt: skip
        yield snapshot_sample(regime=regime, language=language)
    for language in ("en", "fr", "ar"):
        note = snapshot_sample(language=language)
        note.update(type="credit_note", number="AKM-CN-2026-000003", reason="Refund",
                    invoice_number="AKM-2026-000042",
                    invoice_issued_at="2026-11-30T09:15:00+00:00")  # fmt: skip
        yield note
    long = snapshot_sample()
    long["lines"] = long["lines"] * 30
    yield long
    yield rare_snapshot()
    missing = snapshot_sample(language="fr")  # letters the font lacks are left out, as before
    missing["buyer"]["name"] = "ნინო ბერიძე"  # Georgian: not in the committed subset
    yield missing
    for language in ("en", "ar"):  # wrapped descriptions and mentions, escaped parens,
        tricky = snapshot_sample(regime="reverse_charge", language=language)  # kerning, marks
        tricky["buyer"]["name"] = "AVATAR (Ltd) \\ Tékë مُحَمَّد"
        tricky["lines"][0]["description"] = ("Microsoft Office 2021 Professional Plus for "
                                             "Windows (1 PC, lifetime licence) — مفتاح")  # fmt: skip
        tricky["mentions"] = [{"code": "reverse_charge", "text": "Reverse charge — VAT to be "
                               "accounted for by the recipient (Article 196, Directive "
                               "2006/112/EC). " * 3}]  # fmt: skip
        yield tricky


def test_every_page_is_drawn_exactly_as_fpdf2_alone_draws_it():
    """Same page content streams, operator for operator, as fpdf2 without the shared fonts
    and caches, for every kind of document (after all the others, so caches are warm)."""
    documents = list(sample_documents())
    for snapshot in documents:
        document_pdf_render(snapshot=snapshot)
    for snapshot in documents:
        ours, stock = document_pdf_render(snapshot=snapshot), stock_render(snapshot)
        assert page_streams(ours) == page_streams(stock), snapshot["number"]
        assert pdf_text(ours) == pdf_text(stock)


def test_a_page_mixing_shared_and_other_fonts_is_refused_rather_than_altering_the_shared_font():
    pdf = SharedFontsPDF()
    document_fonts_add(pdf=pdf, family=FONT, files={"": FONT_DIR / "DejaVuSans.ttf"})
    pdf.add_page()
    pdf.set_font(FONT, "", 10)
    pdf.cell(40, 5, "Invoice")
    pdf.set_font("helvetica", "", 10)
    pdf.cell(40, 5, "Invoice")
    with pytest.raises(NotImplementedError):
        pdf.output(output_producer_class=DocumentOutputProducer)
    assert "Invoice" in pdf_text(document_pdf_render(snapshot=snapshot_sample()))


@pytest.mark.parametrize(
    "name", ["Пётр Ильич Чайковский", "Ολυμπία Παπαδοπούλου", "Ґеорґій Їжаченко"]
)
def test_a_buyer_named_in_cyrillic_or_greek_is_printed_on_the_invoice(name):
    """The buyer's name is a legal field of the invoice: the fonts carry Greek and Cyrillic."""
    snapshot = snapshot_sample(language="fr")
    snapshot["buyer"]["name"] = name

    text = pdf_text(document_pdf_render(snapshot=snapshot))

    assert name in text


def test_latin_texts_are_split_into_the_fragments_fpdf2_makes():
    """The shortcut for left-to-right Latin text gives fpdf2's own fragments (characters,
    graphics state, shaping parameters), on a left-to-right and a right-to-left page."""
    alphabet = "AVTaeyf .,:;-–/()'&@#%+€$0123456789ÉéçÇÀàßøØŁłŽžĳ«»×·"
    chooser = random.Random(17)
    texts = ["", " ", "Jonas Becker", "jonas@example.de", "103.72", "1 234,56 €", "KS-7F3K9Q2M",
             "Łukasz Żółtowski-Dvořák", "Page 1 of {nb}", "AVATAR (Ltd) Tékë"]  # fmt: skip
    texts += ["".join(chooser.choice(alphabet) for _ in range(chooser.randint(1, 40)))
              for _ in range(300)]  # fmt: skip
    for rtl in (False, True):
        page = _Page(rtl=rtl, footer_text="", page_label=lambda **params: "")
        page.add_page()
        page.set_font(FONT, "B", 8.5)
        for text in texts:
            for direction in ("ltr", "rtl"):
                page.set_text_shaping(use_shaping_engine=True, direction=direction)
                ours = page._preload_bidirectional_text(text, False)
                ours_state = dict(page.text_shaping)
                page.set_text_shaping(use_shaping_engine=True, direction=direction)
                stock = FPDF._preload_bidirectional_text(page, text, False)
                assert list(ours) == list(stock), text
                assert [f.text_shaping_parameters for f in ours] == [
                    f.text_shaping_parameters for f in stock
                ], text
                assert ours_state == page.text_shaping, text
