"""Server-rendered SVG bar charts (no JavaScript chart library): turnout by entity and by day,
results per contest. Text is escaped; every chart has a title and a description for screen readers."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

BAR_COLOR = "#6b1d4f"
TRACK_COLOR = "#e6e6e6"
TEXT_COLOR = "#1a1a1a"


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    total: int | None = None  # draws value/total when given (turnout)


def bar_chart(title: str, bars: Sequence[Bar], *, width: int = 760, unit: str = "") -> str:
    row, label_w, value_w = 28, 270, 150
    height = 40 + row * max(1, len(bars))
    plot_w = width - label_w - value_w - 20
    scale = max([b.total if b.total else b.value for b in bars] + [1])
    ident = "g" + hashlib.sha256(title.encode()).hexdigest()[:10]  # unique per chart on a page
    desc = "; ".join(f"{b.label}: {b.value}" + (f" de {b.total}" if b.total is not None else "") for b in bars)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" aria-labelledby="{ident}t {ident}d">',
           f'<title id="{ident}t">{escape(title)}</title><desc id="{ident}d">{escape(desc or "sin datos")}</desc>',
           f'<text x="0" y="20" font-size="16" font-weight="bold" fill="{TEXT_COLOR}">{escape(title)}</text>']
    for i, b in enumerate(bars):
        y = 34 + i * row
        full = b.total if b.total else scale
        track = int(plot_w * full / scale)
        filled = int(plot_w * b.value / scale)
        label = b.label if len(b.label) <= 38 else b.label[:37] + "…"
        out.append(f'<text x="0" y="{y + 15}" font-size="13" fill="{TEXT_COLOR}">{escape(label)}</text>')
        out.append(f'<rect x="{label_w}" y="{y + 3}" width="{track}" height="16" fill="{TRACK_COLOR}"/>')
        out.append(f'<rect x="{label_w}" y="{y + 3}" width="{filled}" height="16" fill="{BAR_COLOR}"/>')
        text = f"{b.value} / {b.total} ({100 * b.value / b.total:.1f} %)" if b.total else f"{b.value}{unit}"
        out.append(f'<text x="{label_w + plot_w + 8}" y="{y + 15}" font-size="13" fill="{TEXT_COLOR}">'
                   f'{escape(text)}</text>')
    if not bars:
        out.append(f'<text x="0" y="50" font-size="13" fill="{TEXT_COLOR}">Sin datos</text>')
    out.append("</svg>")
    return "".join(out)
