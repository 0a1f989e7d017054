"""Charts for the creator centre and the seller dashboard: matplotlib draws them, the page inlines the SVG.

Rendered on the server with matplotlib's object API (no pyplot state, so it is safe in threads and workers) as
SVG whose text stays text (``svg.fonttype = none``): the browser draws labels with the page's own fonts, so Chinese
and Malay labels need no font on the server, the chart scales with its container and screen readers read it.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Literal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Meadow's palette (meadow.css): the accent first, then colours that stay apart for colour-blind readers.
PALETTE = ("#ff2442", "#2f6fde", "#1a9e77", "#e89a2c", "#7b5fc7", "#6b7280")
_SIZE_ATTRS = re.compile(r'\s(width|height)="[^"]*pt"')
_FONT_FAMILY = re.compile(r"font-family: [^;\"]*")
_STYLE_ELEMENT = re.compile(r"<style\b[^>]*>.*?</style>\s*", re.S)


def chart_svg(
    *,
    series: Mapping[str, Sequence[tuple[date | datetime, float]]],
    title: str = "",
    y_label: str = "",
    kind: Literal["line", "bar"] = "line",
) -> SafeString:
    """An SVG chart of one or more named series of ``(day, value)`` points, ready to put in a template.

    ``kind="bar"`` draws grouped bars (one group a day); ``"line"`` draws lines with markers. An empty chart (no
    points at all) still renders axes, so a page keeps its layout. Labels are escaped by matplotlib; the title
    becomes the SVG's accessible name."""
    if kind not in ("line", "bar"):
        raise ValueError(f"unknown chart kind: {kind!r}")
    from matplotlib import dates as mdates
    from matplotlib import rcParams
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    rcParams["svg.fonttype"] = "none"  # keep text as <text>: the browser's fonts render every script
    rcParams["svg.hashsalt"] = "meadow"  # stable ids: the same data gives the same markup

    fig = Figure(figsize=(7.2, 2.8), dpi=100)
    ax = fig.add_subplot()
    named = [(name, sorted(points)) for name, points in series.items()]
    width = 0.8 / max(1, len(named))
    for index, (name, points) in enumerate(named):
        colour = PALETTE[index % len(PALETTE)]
        xs = [mdates.date2num(x) for x, _ in points]
        ys = [float(y) for _, y in points]
        if kind == "bar":
            offset = (index - (len(named) - 1) / 2) * width
            ax.bar([x + offset for x in xs], ys, width=width, label=name, color=colour)
        else:
            ax.plot(xs, ys, label=name, color=colour, linewidth=2, marker="o", markersize=3)
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=8))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    values = [float(y) for _, points in named for _, y in points]
    if all(v.is_integer() for v in values):  # counts: whole-number ticks only (no "0.5 orders")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(bottom=0, top=None if any(v > 0 for v in values) else 1)  # an all-zero chart reads 0…1
    if y_label:
        ax.set_ylabel(y_label)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#e5e7eb", linewidth=0.8)
    ax.set_axisbelow(True)
    if len(named) > 1:
        ax.legend(frameon=False, loc="upper left", fontsize=9, ncols=min(len(named), 4))
    buffer = io.StringIO()
    with warnings.catch_warnings():
        # Layout measures text with matplotlib's own font, which has no CJK glyphs; the browser draws it.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
        fig.tight_layout()
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = _FONT_FAMILY.sub("font-family: inherit", buffer.getvalue())
    svg = svg[svg.index("<svg") :]  # drop the XML prolog and doctype: the SVG sits inside HTML
    # matplotlib's one <style> (stroke joins) would need the page's CSP nonce, and inside HTML its ``*`` rule
    # applied to the whole page: meadow.css has the same rule scoped to ``.chart``.
    svg = _STYLE_ELEMENT.sub("", svg)
    # Scale with the container: keep the viewBox, drop the fixed size in points.
    svg = _SIZE_ATTRS.sub("", svg.split(">", 1)[0], count=2) + ">" + svg.split(">", 1)[1]
    label = escape(title)
    svg = svg.replace("<svg ", f'<svg class="chart" role="img" aria-label="{label}" ', 1)
    if title:
        head, rest = svg.split(">", 1)
        svg = f"{head}><title>{label}</title>{rest}"
    # matplotlib wrote the markup and escapes its text; the title is escaped above.
    return mark_safe(svg)
