"""The invoice fonts, parsed once per process and embedded per document without fontTools.

fpdf2 parses a TrueType font (fontTools) every time a document adds it, shapes every text
run with HarfBuzz, and on output subsets the font with fontTools and compiles it again:
together most of a PDF's CPU. Here each font file is read once per process
(``font_program``): its parsed fpdf2 ``TTFFont`` (character widths, glyph ids, cmap, the
fontTools tables) is shared read-only by every document, and each document gets a
``DocumentFont``, a copy holding only what a document changes (the subset map of the
glyphs it uses, missing glyphs, biggest size, its own HarfBuzz font object, its own font
descriptor PDF object).

Shaping a run (text, size, direction, script, language, features) always gives the same
glyphs and positions, so runs are kept in a bounded per-process cache; the per-document
part (the subset codes of the glyphs) is still picked per document, in the same order as
fpdf2 picks them.

On output, ``DocumentOutputProducer`` writes the same PDF font objects as fpdf2's
``OutputProducer._add_fonts`` (Type0 font, CIDFontType2 with the same widths, ToUnicode
CMap, CIDSystemInfo, descriptor, CIDToGIDMap, FontFile2), but the embedded font program
keeps the original glyph ids and copies the used glyphs' outlines byte for byte from the
font file (plus their components), every other glyph left empty; the hinting programs and
metrics tables are the file's own. Same outlines, same widths, same codes: the page looks
and extracts the same, for any text the font covers, and nothing is parsed or compiled per
document.
"""

from __future__ import annotations

import copy
import io
import re
import struct
import threading
from array import array
from bisect import bisect_left
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple, cast

import uharfbuzz as hb
from fontTools.ttLib import TTFont, newTable
from fontTools.ttLib.sfnt import SFNTReader
from fontTools.ttLib.tables._c_m_a_p import CmapSubtable
from fpdf import FPDF
from fpdf.bidi import BidiParagraph, auto_detect_base_direction
from fpdf.enums import TextDirection
from fpdf.fonts import Glyph, HarfBuzzFont, TTFFont
from fpdf.line_break import Fragment
from fpdf.output import (  # fpdf2's own builders, so the objects are written the same way
    LOGGER as FPDF_OUTPUT_LOGGER,
)
from fpdf.output import (
    CIDSystemInfo,
    OutputProducer,
    PDFFont,
    PDFPage,
    _build_cmap_blocks,
    _tt_font_widths,
)
from fpdf.syntax import Name, PDFArray, PDFContentStream, PDFObject

from .pdf_output import (
    DeflatedStream,
    FastFontStream,
    cid_to_gid_deflate,
    cmap_table,
    deflated_stream_into,
    object_dict_install,
    sfnt_assemble,
    sfnt_checksum,
)

# Tables an embedded TrueType font needs (PDF 32000-1 9.9: head hhea loca maxp cvt prep
# glyf hmtx fpgm) plus those fpdf2's fontTools subset keeps; the layout tables (GSUB,
# GPOS, GDEF, MATH) are dropped, as fpdf2 drops them: shaping happened before.
KEPT_TABLES = ("OS/2", "cmap", "cvt ", "fpgm", "gasp", "head", "hhea", "hmtx", "maxp",
               "name", "post", "prep")  # fmt: skip
SHAPED_RUNS_CACHED = 8192  # per font; a run is a label, a value or one character


class _Widths(dict[int, float]):
    """A character's width, the font's missing width for a character it lacks: fpdf2's
    ``defaultdict`` without inserting on read, so documents can share it."""

    def __init__(self, widths: dict[int, float], missing: float) -> None:
        super().__init__(widths)
        self.missing = missing

    def __missing__(self, key: int) -> float:
        return self.missing


class _RunGlyph(NamedTuple):  # a named tuple: built per glyph of every new run, cheaply
    glyph_id: int
    unicode: tuple[int, ...]
    glyph_name: str
    glyph_width: int
    x_advance: int
    y_advance: int
    x_offset: int
    y_offset: int
    force_positioning: bool
    # fpdf2's ``SubsetMap.get_glyph`` for this glyph (None for .notdef: a letter the font
    # lacks is left out), built once: equal to the one fpdf2 builds, so the same code
    entry: Glyph | None
    key: tuple[int, tuple[int, ...]]  # what tells entries apart in one font (id, characters)


@dataclass(frozen=True)
class _Run:
    """A shaped run: its glyphs, and fpdf2's width of it at the run's size."""

    glyphs: tuple[_RunGlyph, ...]
    width: float


@dataclass
class FontProgram:
    """One font file, parsed once per process; read-only once built."""

    path: Path
    prototype: TTFFont
    face: Any  # hb.Face
    tables: dict[str, bytes]
    glyphs: list[bytes]  # raw glyf data by glyph id
    padded: list[bytes]  # the same, each padded to 4 bytes as the embedded glyf stores it
    components: dict[int, tuple[int, ...]]  # composite glyph id -> every glyph it draws
    glyph_id_by_name: dict[str, int]
    glyph_names: list[str]  # the glyph order: name by glyph id
    metrics: array[int]  # hmtx as read (big-endian pairs: advance, left side bearing)
    advances: list[int]  # hmtx advance widths by glyph id
    lsbs: list[int]  # hmtx left side bearings by glyph id
    # of each glyph with an outline: xMin, yMin, xMax, yMax, then the left side bearing,
    # right side bearing and extent hhea takes the extremes of
    extremes: dict[int, tuple[int, int, int, int, int, int, int]]
    checksums: dict[str, int]  # of the tables every document embeds unchanged
    cmap_tables: list[Any]  # the file's cmap subtables (fontTools), read only
    cmap_by_glyph: list[dict[int, list[tuple[int, str]]]]  # per subtable: glyph id -> codes
    compiled: Any  # the file as a fontTools TTFont (glyph order for compiling a cmap)
    _runs: dict[Hashable, _Run] = field(default_factory=dict)
    _runs_lock: threading.Lock = field(default_factory=threading.Lock)

    # --- shaped runs ----------------------------------------------------------------------

    def run_get(self, key: Hashable) -> _Run | None:
        return self._runs.get(key)  # one dict read: atomic

    def run_put(self, key: Hashable, run: _Run) -> None:
        with self._runs_lock:
            if len(self._runs) >= SHAPED_RUNS_CACHED:  # bounded: names and values vary
                self._runs.clear()
            self._runs[key] = run

    # --- embedding ------------------------------------------------------------------------

    def embedded_font(self, *, glyph_ids: Iterable[int]) -> bytes:
        """The font with every glyph id kept, only ``glyph_ids`` (and .notdef, their
        components) drawn."""
        count = len(self.glyphs)
        # fontTools' recommended glyphs: gids 0 to 3
        used = {glyph_id for glyph_id in (0, 1, 2, 3, *glyph_ids) if 0 <= glyph_id < count}
        for glyph_id in list(used):
            used.update(self.components.get(glyph_id, ()))
        head = bytearray(self.tables["head"])
        hhea = bytearray(self.tables["hhea"])
        long_offsets = struct.unpack(">h", head[50:52])[0] == 1
        drawn = sorted(glyph_id for glyph_id in used if self.padded[glyph_id])
        lengths = [0] * count
        for glyph_id in drawn:
            lengths[glyph_id] = len(self.padded[glyph_id])
        offsets = [0, *accumulate(lengths)]
        parts = [self.padded[glyph_id] for glyph_id in drawn]
        self._bounds_recalc(head=head, hhea=hhea, used=used)
        if not long_offsets and offsets[-1] > 0x1FFFE:
            long_offsets = True
            head[50:52] = struct.pack(">h", 1)
        loca = array("I" if long_offsets else "H", offsets if long_offsets else
                     [offset // 2 for offset in offsets])  # fmt: skip
        if loca.itemsize not in (2, 4):  # pragma: no cover - array sizes are per platform
            raise RuntimeError("unexpected array item size")
        loca.byteswap()  # big-endian
        metrics = array("H", bytes(4 * len(self.glyphs)))  # unused glyphs: no metrics
        for glyph_id in used:
            metrics[2 * glyph_id : 2 * glyph_id + 2] = self.metrics[2 * glyph_id : 2 * glyph_id + 2]
        tables = dict(self.tables, head=bytes(head), hhea=bytes(hhea), glyf=b"".join(parts), loca=loca.tobytes(),
                      hmtx=metrics.tobytes(), cmap=self._cmap(used))  # fmt: skip
        return sfnt_assemble(tables, self.checksums)  # as fontTools' SFNTWriter writes it

    def _bounds_recalc(self, *, head: bytearray, hhea: bytearray, used: set[int]) -> None:
        """The font-wide extremes over the glyphs kept, as fontTools recomputes them when it
        saves a subset ('head' bounding box; 'hhea' widest advance, side bearings, extent):
        renderers size their glyph caches from them."""
        hhea[10:12] = struct.pack(">H", max(self.advances[glyph_id] for glyph_id in used))
        extremes = [self.extremes[glyph_id] for glyph_id in used if glyph_id in self.extremes]
        if not extremes:
            return
        x_min, y_min, x_max, y_max, lsb, rsb, extent = zip(*extremes, strict=True)
        head[36:44] = struct.pack(">hhhh", min(x_min), min(y_min), max(x_max), max(y_max))
        hhea[12:18] = struct.pack(">hhh", min(lsb), min(rsb), max(extent))

    def _cmap(self, used: set[int]) -> bytes:
        """The file's cmap reduced to the characters of the glyphs drawn, as fontTools'
        subset reduces it (renderers read font-wide hints from the glyphs it names)."""
        if all(subtable.format == 4 for subtable in self.cmap_tables):
            return cmap_table([
                (subtable.platformID, subtable.platEncID, subtable.language,
                 {code: glyph_id for glyph_id in used
                  for code, _name in self.cmap_by_glyph[index].get(glyph_id, ())})
                for index, subtable in enumerate(self.cmap_tables)
            ])  # fmt: skip
        table = newTable("cmap")
        table.tableVersion = 0
        table.tables = []
        for index, subtable in enumerate(self.cmap_tables):
            reduced = CmapSubtable.newSubtable(subtable.format)
            reduced.platformID, reduced.platEncID = subtable.platformID, subtable.platEncID
            reduced.language = subtable.language
            by_glyph = self.cmap_by_glyph[index]
            reduced.cmap = {code: name for glyph_id in used
                            for code, name in by_glyph.get(glyph_id, ())}  # fmt: skip
            table.tables.append(reduced)
        return bytes(table.compile(self.compiled))


_programs: dict[Path, FontProgram] = {}
_programs_lock = threading.Lock()


def font_program(*, path: Path) -> FontProgram:
    """The font at ``path``, parsed on first use in this process."""
    program = _programs.get(path)
    if program is None:
        with _programs_lock:
            program = _programs.get(path)
            if program is None:
                program = _font_program_build(path=path)
                _programs[path] = program
    return program


def _font_program_build(*, path: Path) -> FontProgram:
    data = path.read_bytes()
    # fpdf2's own parsing, so widths, glyph ids and descriptor are exactly fpdf2's
    holder = SimpleNamespace(fonts={}, render_color_fonts=False)
    prototype = TTFFont(cast(Any, holder), path, "prototype", "")
    if prototype.is_cff or prototype.color_font or prototype.is_symbol:
        raise ValueError(f"{path.name}: only plain TrueType fonts are embedded this way")
    ttfont = prototype.ttfont
    for tag in ("head", "hhea", "hmtx", "maxp", "post", "cmap", "OS/2", "name"):
        ttfont[tag]  # decompiled now, under the lock: documents only read them
    glyph_order = ttfont.getGlyphOrder()
    prototype.cw = _Widths(dict(prototype.cw), prototype.desc.missing_width)
    reader = SFNTReader(io.BytesIO(data))
    tables = {tag: bytes(reader[tag]) for tag in KEPT_TABLES if tag in reader}
    post = tables["post"]  # format 3: no glyph names (fontTools' subset default too)
    tables["post"] = b"\x00\x03\x00\x00" + post[4:32]
    # every glyph compiled as fontTools' subsetter compiles it (bounding box recomputed
    # from the outline), so the outlines embedded are byte for byte fpdf2's
    compiled = TTFont(io.BytesIO(data))
    name_table = compiled["name"]  # the names fontTools' subset keeps (ids 0-6, Windows English)
    name_table.names = [
        record
        for record in name_table.names
        if record.nameID <= 6 and record.platformID == 3 and record.langID == 0x409
    ]
    tables["name"] = name_table.compile(compiled)
    advances = [compiled["hmtx"].metrics[name][0] for name in glyph_order]
    lsbs = [compiled["hmtx"].metrics[name][1] for name in glyph_order]
    # a full metric per glyph (a font may share its last advance): hhea says so
    metrics = array("H", b"".join(struct.pack(">Hh", *pair) for pair in zip(advances, lsbs,
                                                                         strict=True)))  # fmt: skip
    tables["hhea"] = tables["hhea"][:34] + struct.pack(">H", len(glyph_order))
    compiled.getReverseGlyphMap()  # built now, not by the first documents at once
    glyf_table = compiled["glyf"]
    glyphs = [
        glyf_table[name].compile(glyf_table, recalcBBoxes=True)
        if glyf_table[name].numberOfContours
        else b""
        for name in glyph_order
    ]
    direct = {
        glyph_id: _glyph_components(data)
        for glyph_id, data in enumerate(glyphs)
        if len(data) >= 10 and struct.unpack(">h", data[:2])[0] < 0
    }
    components: dict[int, tuple[int, ...]] = {}
    for glyph_id in direct:
        seen: set[int] = set()
        pending = list(direct[glyph_id])
        while pending:
            component = pending.pop()
            if component not in seen:
                seen.add(component)
                pending.extend(direct.get(component, ()))
        components[glyph_id] = tuple(sorted(seen))
    program = FontProgram(
        path=path,
        prototype=prototype,
        face=hb.Face(hb.Blob(data)),
        tables=tables,
        glyphs=glyphs,
        padded=[data + b"\0" * (-len(data) % 4) for data in glyphs],
        components=components,
        glyph_id_by_name={name: index for index, name in enumerate(glyph_order)},
        glyph_names=list(glyph_order),
        metrics=metrics,
        advances=advances,
        lsbs=lsbs,
        extremes={
            index: (
                glyph.xMin,
                glyph.yMin,
                glyph.xMax,
                glyph.yMax,
                lsbs[index],
                advances[index] - lsbs[index] - (glyph.xMax - glyph.xMin),
                lsbs[index] + glyph.xMax - glyph.xMin,
            )
            for index, glyph in enumerate(glyf_table[name] for name in glyph_order)
            if glyph.numberOfContours
        },  # fmt: skip
        checksums={
            tag: sfnt_checksum(data)
            for tag, data in tables.items()
            if tag not in ("head", "hhea", "glyf", "loca", "hmtx", "cmap")
        },  # fmt: skip
        cmap_tables=list(compiled["cmap"].tables),
        cmap_by_glyph=[
            _codes_by_glyph(subtable.cmap, compiled) for subtable in compiled["cmap"].tables
        ],
        compiled=compiled,
    )
    # the outlines are kept as bytes above: the decompiled glyphs (tens of thousands of
    # objects for two fonts) would only make every full garbage collection of the process
    # longer (68 against 49 ms in a worker with the invoice fonts loaded)
    del compiled["glyf"]
    if "glyf" in prototype.ttfont.tables:
        del prototype.ttfont["glyf"]
    return program


def _codes_by_glyph(cmap: dict[int, str], compiled: TTFont) -> dict[int, list[tuple[int, str]]]:
    by_glyph: dict[int, list[tuple[int, str]]] = {}
    for code, name in cmap.items():
        by_glyph.setdefault(compiled.getGlyphID(name), []).append((code, name))
    return by_glyph


def document_fonts_add(*, pdf: FPDF, family: str, files: dict[str, Path]) -> None:
    """What ``pdf.add_font(family, style, file)`` does for each style, with the shared
    fonts: FPDF.add_font would parse each file again for every document."""
    for style, path in files.items():
        fontkey = family.lower() + style
        pdf.fonts[fontkey] = DocumentFont.for_document(
            program=font_program(path=path), index=len(pdf.fonts) + 1, fontkey=fontkey,
            style=style,
        )  # fmt: skip


def _characters_by_cluster(*, text: str, clusters: list[int]) -> dict[int, list[int]]:
    """The indexes of ``text``'s characters by the (sorted) HarfBuzz cluster they belong
    to, as fpdf2's ``shape_text`` assigns them."""
    by_cluster: dict[int, list[int]] = {}
    for index in range(len(text)):
        pos = bisect_left(clusters, index)
        if pos == 0:
            cluster = clusters[0]
        elif pos == len(clusters) or clusters[pos] != index:
            cluster = clusters[pos - 1]
        else:
            cluster = clusters[pos]
        by_cluster.setdefault(cluster, []).append(index)
    return by_cluster


def _glyph_components(data: bytes) -> tuple[int, ...]:
    """The glyph ids a composite glyph's records name (TrueType 'glyf', composite)."""
    found = []
    offset = 10
    while True:
        flags, glyph_id = struct.unpack(">HH", data[offset : offset + 4])
        found.append(glyph_id)
        offset += 4 + (4 if flags & 0x0001 else 2)
        if flags & 0x0008:
            offset += 2
        elif flags & 0x0040:
            offset += 4
        elif flags & 0x0080:
            offset += 8
        if not flags & 0x0020:
            return tuple(found)


def shaping_params_key(params: dict[str, Any] | None) -> Hashable:
    """What HarfBuzz is given from fpdf2's shaping parameters (``perform_harfbuzz_shaping``)."""
    if not params:
        return None
    features = params.get("features")
    return (
        params.get("fragment_direction"),
        params.get("script"),
        params.get("language"),
        tuple(features.items()) if features else None,
    )


class DocumentFont(TTFFont):
    """A document's copy of a shared ``TTFFont``: its own subset map and glyph bookkeeping,
    everything parsed from the file shared."""

    __slots__ = ("program", "codes")

    program: FontProgram
    codes: dict[tuple[int, tuple[int, ...]], str]  # glyph key -> its escaped subset code

    @classmethod
    def for_document(cls, *, program: FontProgram, index: int, fontkey: str,
                     style: str) -> DocumentFont:  # fmt: skip
        font = TTFFont.__new__(cls)
        prototype = program.prototype
        for name in TTFFont.__slots__:
            if hasattr(prototype, name):
                setattr(font, name, getattr(prototype, name))
        font.program = program
        font.codes = {}
        font.i = index
        font.fontkey = fontkey
        font.emphasis = type(prototype.emphasis).coerce(style)
        font.desc = copy.copy(prototype.desc)  # output gives it a name and an object id
        font.missing_glyphs = []
        font.biggest_size_pt = 0
        font._hbfont = HarfBuzzFont(program.face)
        font.subset = type(prototype.subset)(font)
        return font

    def close(self) -> None:
        """The parsed font belongs to every document of the process: nothing to close."""

    def _run(self, text: str, font_size_pt: float, params: dict[str, Any] | None) -> _Run:
        return self.run_keyed(text, font_size_pt, params, shaping_params_key(params))

    def run_keyed(self, text: str, font_size_pt: float, params: dict[str, Any] | None,
                  params_key: Hashable) -> _Run:  # fmt: skip
        """The shaped run of ``text``; ``params_key`` is ``shaping_params_key(params)``."""
        key = (text, font_size_pt, params_key)
        run = self.program.run_get(key)
        if run is None:
            glyphs = self._run_shape(text, font_size_pt, params)
            width: float = 0  # fpdf2's shaped_text_width, same sum in the same order
            for glyph in glyphs:
                width += round(self.scale * glyph.x_advance + 0.001) * font_size_pt * 0.001
            run = _Run(glyphs=glyphs, width=width)
            self.program.run_put(key, run)
        return run

    def _run_shape(self, text: str, font_size_pt: float, params: dict[str, Any] | None
                   ) -> tuple[_RunGlyph, ...]:  # fmt: skip
        """fpdf2's ``shape_text`` up to the subset codes: glyphs, the characters of their
        cluster, widths and positions (fpdf/fonts.py, 2.8.9)."""
        infos, positions = TTFFont.perform_harfbuzz_shaping(self, text, font_size_pt, params)
        if positions is None:
            return ()
        clusters = sorted(int(info.cluster) for info in infos)
        if clusters == list(range(len(text))):  # a glyph per character: each its own
            by_cluster = {index: [index] for index in clusters}
        else:
            by_cluster = _characters_by_cluster(text=text, clusters=clusters)
        names, advances = self.program.glyph_names, self.program.advances
        run = []
        for info, position in zip(infos, positions, strict=True):
            indexes = by_cluster.pop(info.cluster, [])
            name = names[info.codepoint]  # ttfont.getGlyphName
            width = round(self.scale * advances[info.codepoint])  # hmtx[name][0]
            unicode = tuple(ord(text[i]) for i in indexes)
            run.append(
                _RunGlyph(
                    glyph_id=info.codepoint,
                    unicode=unicode,
                    glyph_name=name,
                    glyph_width=width,
                    x_advance=position.x_advance,
                    y_advance=position.y_advance,
                    x_offset=position.x_offset,
                    y_offset=position.y_offset,
                    force_positioning=bool(
                        width != position.x_advance
                        or position.x_offset != 0
                        or position.y_offset != 0
                        or position.y_advance != 0
                    ),
                    entry=Glyph(info.codepoint, unicode, name, width) if info.codepoint else None,
                    key=(info.codepoint, unicode),
                )
            )
        return tuple(run)

    def shaped_text_width(self, text: str, font_size_pt: float,
                          text_shaping_params: dict[str, Any] | None) -> tuple[int, float]:  # fmt: skip
        run = self._run(self._map_symbol_text(text), font_size_pt, text_shaping_params)
        return (len(run.glyphs), run.width)

    def shape_text(self, text: str, font_size_pt: float,
                   text_shaping_params: dict[str, Any] | None) -> Sequence[dict[str, Any]]:  # fmt: skip
        if len(text) == 0:
            return []
        shaped = []
        for glyph in self._run(text, font_size_pt, text_shaping_params).glyphs:
            entry = glyph.entry  # what self.subset.get_glyph(...) returns for it
            if entry is None:
                continue
            shaped.append({
                "mapped_char": self.subset.pick_glyph(entry),
                "x_advance": glyph.x_advance,
                "y_advance": glyph.y_advance,
                "x_offset": glyph.x_offset,
                "y_offset": glyph.y_offset,
                "force_positioning": glyph.force_positioning,
            })  # fmt: skip
        return shaped


class DocumentOutputProducer(OutputProducer):
    """fpdf2's output, with the font objects of ``DocumentFont`` fonts written from the
    shared font program (see the module docstring), and each object's dictionary built
    without ``dir()`` (``invoices.pdf_output.object_dict``: the same dictionary)."""

    def _add_pdf_obj(self, pdf_obj: PDFObject, trace_label: str | None = None) -> int:
        object_dict_install(pdf_obj)
        return super()._add_pdf_obj(pdf_obj, trace_label)

    def _add_pages(self, _slice: slice = slice(0, None)) -> list[PDFPage]:
        """fpdf2's pages, their content streams deflated at zlib's fastest level (a fifth
        of the time of the default level, the stream about a fifth larger)."""
        compress = self.fpdf.compress
        self.fpdf.compress = False  # fpdf2 hands the contents over as they are
        try:
            pages = super()._add_pages(_slice)
        finally:
            self.fpdf.compress = compress
        if compress:
            for page in pages:
                assert isinstance(page.contents, PDFContentStream)  # fpdf2 made it one
                page.contents = deflated_stream_into(page.contents, level=1)
        return pages

    def _add_fonts(self, image_objects_per_index: Any, gfxstate_objs_per_name: Any,
                   pattern_objs_per_name: Any) -> Any:  # fmt: skip
        fonts = sorted(self.fpdf.fonts.values(), key=lambda font: font.i)
        ours = [font for font in fonts if isinstance(font, DocumentFont)]
        if not ours:
            return super()._add_fonts(
                image_objects_per_index, gfxstate_objs_per_name, pattern_objs_per_name
            )
        if self.fpdf._compliance or len(ours) != len(fonts):
            # fpdf2's own path would subset the shared parsed font in place
            raise NotImplementedError("shared fonts: PDF/A and other fonts are not handled")
        objects = {font.i: self._document_font_add(font) for font in ours}
        # what fpdf2 does after each font: its subset caches are per class, not per map
        for font in ours:
            font.subset.pick.cache_clear()
            font.subset.get_glyph.cache_clear()
        return objects

    def _document_font_add(self, font: DocumentFont) -> PDFFont:
        """fpdf2 2.8.9 ``OutputProducer._add_fonts``, TrueType branch, same objects in the
        same order; only the FontFile2 program comes from ``FontProgram.embedded_font``."""
        fontname = f"MPDFAA+{font.name}"
        if font.missing_glyphs:
            shown = ", ".join(
                f"'{chr(x)}' ({chr(x).encode('unicode-escape').decode()})"
                for x in font.missing_glyphs[:10]
            )
            if len(font.missing_glyphs) > 10:
                shown += f", ... (and {len(font.missing_glyphs) - 10} others)"
            FPDF_OUTPUT_LOGGER.warning("Font %s is missing the following glyphs: %s",
                                       fontname, shown)  # fmt: skip
        code_to_glyph = {
            code: font.program.glyph_id_by_name[glyph.glyph_name]
            for glyph, code in font.subset.items()
            if glyph is not None
        }
        composite = PDFFont(subtype="Type0", base_font=fontname, encoding="Identity-H")
        self._add_pdf_obj(composite, "fonts")
        cid_font = PDFFont(subtype="CIDFontType2", base_font=fontname,
                           d_w=font.desc.missing_width, w=_tt_font_widths(font))  # fmt: skip
        self._add_pdf_obj(cid_font, "fonts")
        composite.descendant_fonts = PDFArray([cid_font])
        bf_chars = []
        for glyph, code in font.subset.items():
            if glyph is None or not isinstance(glyph.unicode, tuple) or not glyph.unicode:
                continue
            bf_chars.append(f"<{code:04X}> <{_utf16_hex_all(glyph.unicode)}>\n")
        to_unicode = PDFContentStream(
            (
                "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
                "/CIDSystemInfo\n<</Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n"
                "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
                "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
                f"{_build_cmap_blocks(bf_chars, 'bfchar')}"
                "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"
            ).encode("latin-1")
        )
        self._add_pdf_obj(to_unicode, "fonts")
        composite.to_unicode = to_unicode
        system_info = CIDSystemInfo()
        self._add_pdf_obj(system_info, "fonts")
        cid_font.c_i_d_system_info = system_info
        descriptor = font.desc
        descriptor.font_name = Name(fontname)
        self._add_pdf_obj(descriptor, "fonts")
        cid_font.font_descriptor = descriptor
        cid_to_gid_map = DeflatedStream(deflated=cid_to_gid_deflate(code_to_glyph))
        self._add_pdf_obj(cid_to_gid_map, "fonts")
        cid_font.c_i_d_to_g_i_d_map = cid_to_gid_map
        program = FastFontStream(contents=font.program.embedded_font(
            glyph_ids=code_to_glyph.values()))  # fmt: skip
        self._add_pdf_obj(program, "fonts")
        descriptor.font_file2 = program  # type: ignore[attr-defined]
        return composite


@lru_cache(maxsize=4096)
def _utf16_hex_all(codes: tuple[int, ...]) -> str:
    return "".join(_utf16_hex(code) for code in codes)


def _utf16_hex(code: int) -> str:
    if code > 0xFFFF:
        high = 0xD800 | (code - 0x10000) >> 10
        low = 0xDC00 | (code & 0x3FF)
        return f"{high:04X}{low:04X}"
    return f"{code:04X}"


@lru_cache(maxsize=4096)
def _bidi_fragments(text: str, direction: TextDirection, alias: str) -> tuple[tuple[str, TextDirection], ...]:  # fmt: skip
    """The Unicode bidi algorithm's runs of ``text``: a function of its arguments only."""
    paragraph = BidiParagraph(text=text, base_direction=direction, preserve_bn_chars=True,
                              alias=alias)  # fmt: skip
    return tuple(paragraph.get_bidi_fragments())


# printable ASCII, then Latin-1 and Latin Extended-A/B letters and signs (no soft hyphen):
# Latin or Common script, bidi classes L, EN, ES, ET, CS, WS and ON only
_LATIN_ONLY = re.compile("[\u0020-\u007e\u00a0-\u00ac\u00ae-\u024f]+")


class CachedBidiMixin:
    """fpdf2 2.8.9 ``FPDF._preload_bidirectional_text`` with the bidi runs of a text kept
    per process (labels and values repeat from document to document)."""

    def _preload_bidirectional_text(self, text: str, markdown: bool) -> Sequence[Fragment]:
        pdf = cast(FPDF, self)
        if not pdf.text_shaping:
            return pdf._preload_font_styles(text, markdown)
        direction = pdf.text_shaping["direction"] or auto_detect_base_direction(text)
        pdf.text_shaping["paragraph_direction"] = direction
        if (direction == TextDirection.LTR and not markdown and not pdf._fallback_font_ids
                and _LATIN_ONLY.fullmatch(text) and pdf.str_alias_nb_pages not in text):  # fmt: skip
            # Latin letters, digits and punctuation, left to right: the bidi algorithm keeps
            # them in one run at level 0 and fpdf2's split by script finds one script, so
            # its one fragment, without either algorithm's per-character work
            pdf.text_shaping["fragment_direction"] = TextDirection.LTR
            return (Fragment(list(text), pdf._get_current_graphics_state(), pdf.k),)
        emphasis = ("B" in pdf.font_style, "I" in pdf.font_style, pdf.strikethrough,
                    pdf.underline)  # fmt: skip
        fragments: list[Fragment] = []
        for bidi_text, bidi_direction in _bidi_fragments(text, direction,
                                                         pdf.str_alias_nb_pages):  # fmt: skip
            pdf.text_shaping["fragment_direction"] = bidi_direction
            fragments.extend(
                pdf._preload_font_styles(bidi_text, markdown, _initial_emphasis=emphasis)
            )
            emphasis = getattr(pdf, "_markdown_emphasis", emphasis)
        return tuple(fragments)
