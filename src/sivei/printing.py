"""Printable documents: one model, rendered as plain text (any laptop, any printer) and as PDF.

Actas, command cards, fingerprint sheets and read-aloud scripts are signed by hand or read in a room,
so they are built once as a ``Document`` (headings, paragraphs, tables, boxes to tick, signature
lines) and rendered by ``render_text`` and ``render_pdf``. The PDF is made with fpdf2 and embeds a
Unicode TrueType font (DejaVu Sans or Noto Sans, found on the machine) so that names such as «Gálvez»
or «Máynez» print and copy exactly; ``SIVEI_PDF_FONT`` may name another regular .ttf whose bold face
sits beside it.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sivei.errors import SiveiError
from sivei.i18n import tr

Align = Literal["L", "R", "C"]
FONT_ENV = "SIVEI_PDF_FONT"
TEXT_WIDTH = 100

# (regular, bold) pairs, the first present is used.
FONT_CANDIDATES: tuple[tuple[str, str], ...] = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf", "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf"),
    ("/usr/share/fonts/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
    ("/Library/Fonts/Arial Unicode.ttf", "/Library/Fonts/Arial Unicode.ttf"),
    ("C:/Windows/Fonts/arial.ttf", "C:/Windows/Fonts/arialbd.ttf"),
)


class PrintingError(SiveiError):
    """A printable document cannot be produced (no Unicode font, for instance)."""


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 1


@dataclass(frozen=True)
class Paragraph:
    text: str
    bold: bool = False


@dataclass(frozen=True)
class Banner:
    """A framed warning line (e.g. «ENSAYO — NO ES LA ELECCIÓN REAL»)."""

    text: str


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[int, ...]
    """Relative column widths (the text rendering uses them as character counts)."""
    align: tuple[Align, ...] = ()
    bold_rows: frozenset[int] = frozenset()
    line_height: float = 4.6
    """PDF row height in mm (taller for rows written by hand)."""


@dataclass(frozen=True)
class Field:
    """A label and a value, or a blank to fill in by hand when the value is empty."""

    label: str
    value: str = ""


@dataclass(frozen=True)
class Fields:
    items: tuple[Field, ...]


@dataclass(frozen=True)
class Signatures:
    """Signature lines: (name, role); an empty name leaves a line to write it by hand."""

    people: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class PageBreak:
    pass


Block = Heading | Paragraph | Banner | Table | Fields | Signatures | PageBreak


@dataclass
class Document:
    title: str
    blocks: list[Block] = field(default_factory=list)
    footer: str = ""

    def add(self, *blocks: Block) -> Document:
        self.blocks.extend(blocks)
        return self


# -- text -------------------------------------------------------------------------------------------


def _wrap(text: str, width: int = TEXT_WIDTH, indent: str = "") -> list[str]:
    return textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=indent) or [indent]


def _text_table(table: Table) -> list[str]:
    widths = list(table.widths)
    align = list(table.align) or ["L"] * len(widths)

    def cell(text: str, w: int, a: Align) -> str:
        return text.rjust(w) if a == "R" else text.center(w) if a == "C" else text.ljust(w)

    def row_lines(row: tuple[str, ...]) -> list[str]:
        """Long cells wrap onto more lines: nothing on a card or an acta is ever cut off."""
        wrapped = [textwrap.wrap(c, w, break_on_hyphens=False) or [""] for c, w in zip(row, widths, strict=True)]
        height = max(len(x) for x in wrapped)
        return ["  ".join(cell(x[k] if k < len(x) else "", w, a)
                          for x, w, a in zip(wrapped, widths, align, strict=True)).rstrip() for k in range(height)]

    lines = [*row_lines(table.header), "  ".join("-" * w for w in widths)]
    for row in table.rows:
        lines += row_lines(row)
    return lines


def render_text(doc: Document) -> str:
    out = [doc.title.upper(), "=" * min(len(doc.title), TEXT_WIDTH), ""]
    for block in doc.blocks:
        if isinstance(block, Heading):
            out += [block.text, ("=" if block.level == 1 else "-") * min(len(block.text), TEXT_WIDTH)]
        elif isinstance(block, Paragraph):
            out += _wrap(block.text)
        elif isinstance(block, Banner):
            rule = "*" * min(TEXT_WIDTH, len(block.text) + 4)
            out += [rule, *_wrap(block.text, TEXT_WIDTH - 4, "  "), rule]
        elif isinstance(block, Table):
            out += _text_table(block)
        elif isinstance(block, Fields):
            width = max((len(f.label) for f in block.items), default=0)
            out += [f"{f.label.ljust(width)}  {f.value or '_' * 40}" for f in block.items]
        elif isinstance(block, Signatures):
            for name, role in block.people:
                out += ["", "", "    " + "_" * 50, f"    {name or '_' * 50}", f"    {role}"]
        elif isinstance(block, PageBreak):
            out += ["", "\f"]
            continue
        out.append("")
    if doc.footer:
        out += _wrap(doc.footer)
    return "\n".join(out).rstrip() + "\n"


# -- PDF --------------------------------------------------------------------------------------------


def find_font() -> tuple[Path, Path]:
    """A Unicode TrueType font (regular, bold) to embed."""
    override = os.environ.get(FONT_ENV)
    if override:
        regular = Path(override)
        bold = regular.with_name(regular.stem.replace("-Regular", "") + "-Bold" + regular.suffix)
        if not regular.is_file():
            raise PrintingError(tr(f"{FONT_ENV}={override}: no existe el archivo",
                                   f"{FONT_ENV}={override}: the file does not exist"))
        return regular, bold if bold.is_file() else regular
    for regular_name, bold_name in FONT_CANDIDATES:
        regular, bold = Path(regular_name), Path(bold_name)
        if regular.is_file():
            return regular, bold if bold.is_file() else regular
    raise PrintingError(tr("no se encontró una fuente Unicode para el PDF: instale el paquete fonts-dejavu-core "
                           f"(«make setup-system») o indique un archivo .ttf en {FONT_ENV}",
                           "no Unicode font found for the PDF: install the package fonts-dejavu-core "
                           f"(«make setup-system») or name a .ttf file in {FONT_ENV}"))


def render_pdf(doc: Document) -> bytes:
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    regular, bold = find_font()

    class _Pdf(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("sivei", "", 7)
            text = f"{doc.footer}  ·  " if doc.footer else ""
            self.cell(0, 5, tr(f"{text}página {self.page_no()} de {{nb}}", f"{text}page {self.page_no()} of {{nb}}"),
                      align="C")

    pdf = _Pdf(format="Letter", unit="mm")
    pdf.set_title(doc.title)
    pdf.set_creator("SIVEI")
    pdf.add_font("sivei", "", str(regular))
    pdf.add_font("sivei", "B", str(bold))
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.alias_nb_pages()
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def para(text: str, size: float = 9.5, style: str = "", height: float = 4.8) -> None:
        pdf.set_font("sivei", style, size)
        pdf.multi_cell(width, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    para(doc.title, 14, "B", 7)
    pdf.ln(2)
    for block in doc.blocks:
        if isinstance(block, Heading):
            pdf.ln(2)
            para(block.text, 12 if block.level == 1 else 10.5, "B", 6)
            pdf.ln(1)
        elif isinstance(block, Paragraph):
            para(block.text, style="B" if block.bold else "")
            pdf.ln(1.5)
        elif isinstance(block, Banner):
            pdf.set_font("sivei", "B", 11)
            pdf.set_fill_color(255, 236, 179)
            pdf.multi_cell(width, 7, block.text, border=1, align="C", fill=True, new_x=XPos.LMARGIN,
                           new_y=YPos.NEXT)
            pdf.set_fill_color(255, 255, 255)
            pdf.ln(2)
        elif isinstance(block, Table):
            pdf.set_font("sivei", "", 8.5)
            align = list(block.align) or ["L"] * len(block.widths)
            with pdf.table(col_widths=block.widths, text_align=tuple(align), line_height=block.line_height,
                           headings_style=_heading_style(), first_row_as_headings=True) as table:
                table.row(block.header)
                for k, row in enumerate(block.rows):
                    if k in block.bold_rows:
                        pdf.set_font("sivei", "B", 8.5)
                    table.row(row)
                    pdf.set_font("sivei", "", 8.5)
            pdf.ln(2.5)
        elif isinstance(block, Fields):
            label_w = width * 0.42
            for f in block.items:
                pdf.set_font("sivei", "B", 9)
                y = pdf.get_y()
                pdf.multi_cell(label_w, 6, f.label, new_x=XPos.RIGHT, new_y=YPos.TOP)
                pdf.set_font("sivei", "", 9)
                if f.value:
                    pdf.multi_cell(width - label_w, 6, f.value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
                else:
                    pdf.cell(width - label_w, 6, "", border="B", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
                pdf.set_y(max(pdf.get_y(), y + 7))
            pdf.ln(1.5)
        elif isinstance(block, Signatures):
            column = (width - 10) / 2
            for k, (name, role) in enumerate(block.people):
                if k % 2 == 0:
                    if pdf.get_y() > pdf.h - 45:
                        pdf.add_page()
                    pdf.ln(14)
                    top = pdf.get_y()
                x = pdf.l_margin + (k % 2) * (column + 10)
                pdf.set_xy(x, top)
                pdf.cell(column, 0, "", border="T")
                pdf.set_xy(x, top + 1)
                pdf.set_font("sivei", "B", 9)
                pdf.multi_cell(column, 4.5, name or " ", align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
                pdf.set_font("sivei", "", 8.5)
                pdf.multi_cell(column, 4.2, role, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
                if k % 2 == 1 or k == len(block.people) - 1:
                    pdf.set_y(top + 14)
        elif isinstance(block, PageBreak):
            pdf.add_page()
    return bytes(pdf.output())


def _heading_style() -> object:
    from fpdf.fonts import FontFace

    return FontFace(emphasis="BOLD", fill_color=(225, 225, 225))


def number_words_es(n: int) -> str:
    """A whole number in Spanish words, as actas write counts «con letra» (0 ≤ n < 10^12)."""
    if n < 0 or n >= 10**12:
        raise ValueError(n)
    units = ("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez", "once",
             "doce", "trece", "catorce", "quince", "dieciséis", "diecisiete", "dieciocho", "diecinueve", "veinte",
             "veintiuno", "veintidós", "veintitrés", "veinticuatro", "veinticinco", "veintiséis", "veintisiete",
             "veintiocho", "veintinueve")
    tens = ("", "", "", "treinta", "cuarenta", "cincuenta", "sesenta", "setenta", "ochenta", "noventa")
    hundreds = ("", "ciento", "doscientos", "trescientos", "cuatrocientos", "quinientos", "seiscientos",
                "setecientos", "ochocientos", "novecientos")

    def below_thousand(k: int) -> str:
        if k == 100:
            return "cien"
        h, rest = divmod(k, 100)
        parts = [hundreds[h]] if h else []
        if rest >= 30:
            t, u = divmod(rest, 10)
            parts.append(tens[t] + (f" y {units[u]}" if u else ""))
        elif rest:
            parts.append(units[rest])
        return " ".join(parts)

    if n < 30:
        return units[n]
    millions, rest = divmod(n, 1_000_000)
    thousands, rest = divmod(rest, 1000)
    parts = []
    if millions:
        parts.append("un millón" if millions == 1 else f"{_apocope(number_words_es(millions))} millones")
    if thousands:
        parts.append("mil" if thousands == 1 else f"{_apocope(below_thousand(thousands))} mil")
    if rest:
        parts.append(below_thousand(rest))
    return " ".join(parts)


def _apocope(words: str) -> str:
    """«uno» becomes «un» before «mil» and «millones» (veintiún mil, ciento un millones)."""
    if words.endswith("veintiuno"):
        return words[: -len("veintiuno")] + "veintiún"
    if words.endswith("uno"):
        return words[:-1]
    return words
