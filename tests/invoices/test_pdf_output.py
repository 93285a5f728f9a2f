"""invoices.pdf_output builds the invoice PDF's objects and font bytes with less work than
fpdf2 and fontTools, and must build the same ones: each is checked against theirs."""

import io
import random
import re
import zlib

from fontTools.ttLib import TTFont, newTable
from fontTools.ttLib.sfnt import SFNTWriter
from fontTools.ttLib.tables._c_m_a_p import CmapSubtable
from fpdf.output import OutputProducer
from fpdf.syntax import PDFObject

from invoices.pdf import FONT_DIR, DocumentRenderer
from invoices.pdf_fonts import DocumentOutputProducer, font_program
from invoices.pdf_output import cid_to_gid_deflate, cmap_table, object_dict, sfnt_assemble

from .snapshots import snapshot_sample


def undated(data: bytes) -> bytes:
    data = re.sub(rb"/CreationDate \(D:\d+Z\)", b"", data)
    return re.sub(rb"/ID \[<[0-9A-F]+><[0-9A-F]+>\]", b"", data)


class FpdfDictionaries(DocumentOutputProducer):
    """The same output with fpdf2's own ``_build_obj_dict`` (dir()) for every object."""

    def _add_pdf_obj(self, pdf_obj, trace_label=None):
        return OutputProducer._add_pdf_obj(self, pdf_obj, trace_label)


class Recording(DocumentOutputProducer):
    objects: list = []

    def bufferize(self):
        Recording.objects = self.pdf_objs
        return super().bufferize()


def test_every_object_dictionary_is_the_one_fpdf2_builds():
    for regime, language in (("oss", "en"), ("oss", "ar"), ("ksa", "ar")):
        snapshot = snapshot_sample(regime=regime, language=language)
        renderer = DocumentRenderer(snapshot)
        renderer.render_pages()
        renderer.pdf.output(output_producer_class=Recording)
        objects = [obj for obj in Recording.objects if isinstance(obj, PDFObject)]
        assert len(objects) > 10
        for obj in objects:
            assert object_dict(obj) == PDFObject._build_obj_dict(obj), type(obj)
        ours = DocumentRenderer(snapshot)
        ours.render_pages()
        plain = DocumentRenderer(snapshot)
        plain.render_pages()
        assert undated(bytes(ours.pdf.output(output_producer_class=DocumentOutputProducer))) == (
            undated(bytes(plain.pdf.output(output_producer_class=FpdfDictionaries)))
        )


def test_the_cid_to_gid_map_inflates_to_fpdf2s_map():
    chooser = random.Random(5)
    for _ in range(200):
        top = chooser.choice([0, 40, 300, 5000, 0xFFFF])
        mapping = {chooser.randint(0, top): chooser.randint(0, 0xFFFF)
                   for _ in range(chooser.randint(0, 300))}  # fmt: skip
        expected = bytearray(256 * 256 * 2)
        for code, glyph_id in mapping.items():
            expected[2 * code : 2 * code + 2] = glyph_id.to_bytes(2, "big")
        assert zlib.decompress(cid_to_gid_deflate(mapping)) == bytes(expected)  # Adler-32 too


def test_the_embedded_font_file_is_the_one_fonttools_writes():
    program = font_program(path=FONT_DIR / "DejaVuSans.ttf")
    chooser = random.Random(9)
    for _ in range(20):
        used = set(chooser.sample(range(len(program.glyphs)), chooser.randint(1, 300)))
        font = program.embedded_font(glyph_ids=used)
        reader = TTFont(io.BytesIO(font)).reader
        tables = {tag: reader[tag] for tag in reader.keys()}  # noqa: SIM118 - a reader, not a dict
        buffer = io.BytesIO()
        writer = SFNTWriter(buffer, len(tables))
        for tag in sorted(tables):
            writer[tag] = tables[tag]
        writer.close()
        assert font == buffer.getvalue()
        assert sfnt_assemble(tables, {}) == font


def test_the_reduced_cmap_maps_what_fonttools_maps():
    program = font_program(path=FONT_DIR / "DejaVuSans.ttf")
    compiled = program.compiled
    chooser = random.Random(3)
    for _ in range(20):
        codes = dict(chooser.sample(sorted(program.cmap_tables[0].cmap.items()),
                                    chooser.randint(0, 400)))  # fmt: skip
        mapping = {code: compiled.getGlyphID(name) for code, name in codes.items()}
        ours = newTable("cmap")
        ours.decompile(cmap_table([(3, 1, 0, mapping), (0, 3, 0, mapping)]), compiled)
        theirs = newTable("cmap")
        theirs.tableVersion = 0
        theirs.tables = []
        for platform, encoding in ((0, 3), (3, 1)):
            subtable = CmapSubtable.newSubtable(4)
            subtable.platformID, subtable.platEncID, subtable.language = platform, encoding, 0
            subtable.cmap = dict(codes)
            theirs.tables.append(subtable)
        theirs.decompile(theirs.compile(compiled), compiled)
        assert [(t.platformID, t.platEncID, t.format, t.cmap) for t in ours.tables] == [
            (t.platformID, t.platEncID, t.format, t.cmap) for t in theirs.tables
        ]
