"""The chart helper: matplotlib SVG that scales, keeps its text as text and escapes what it is given."""

from datetime import date, timedelta

import pytest

from meadow.core.charts import chart_svg

DAY = date(2026, 11, 1)


def _points(n: int, step: float) -> list[tuple[date, float]]:
    return [(DAY + timedelta(days=i), i * step) for i in range(n)]


@pytest.mark.parametrize("kind", ["line", "bar"])
def test_chart_is_inline_scalable_svg_with_its_labels_as_text(kind):
    svg = chart_svg(series={"阅读 Reads": _points(7, 3), "Likes": _points(7, 1)}, title="Views", kind=kind)
    assert svg.startswith("<svg ") and svg.rstrip().endswith("</svg>")
    head = svg.split(">", 1)[0]
    assert "viewBox=" in head and 'width="' not in head and 'height="' not in head
    assert 'role="img"' in head and 'aria-label="Views"' in head
    assert "<title>Views</title>" in svg
    assert "阅读 Reads" in svg and "Likes" in svg  # the legend is real text, drawn by the browser's fonts
    assert "DejaVu" not in svg


def test_chart_escapes_its_title_and_series_names():
    svg = chart_svg(series={"<b>x</b>": _points(3, 1)}, title='<script>alert("x")</script>')
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg


def test_chart_without_points_still_renders_and_is_deterministic():
    assert chart_svg(series={}, title="Empty").startswith("<svg ")
    same = {"Reads": _points(5, 2)}
    assert chart_svg(series=same) == chart_svg(series=same)


def test_chart_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="pie"):
        chart_svg(series={}, kind="pie")  # type: ignore[arg-type]


def test_counts_get_whole_number_ticks_and_an_empty_chart_reads_zero_to_one():
    import re

    def ticks(svg: str) -> list[str]:
        return [t for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg) if re.fullmatch(r"[0-9.]+", t)]

    counts = chart_svg(series={"Orders": [(DAY, 0), (DAY + timedelta(days=1), 3)]})
    assert ticks(counts) and all("." not in t for t in ticks(counts))
    zero = chart_svg(series={"Reads": [(DAY, 0), (DAY + timedelta(days=1), 0)]})
    assert "0.05" not in ticks(zero) and "1" in ticks(zero)
    money = chart_svg(series={"Revenue": [(DAY, 0.2), (DAY + timedelta(days=1), 0.75)]})
    assert any("." in t for t in ticks(money))  # amounts keep their fractional ticks


def test_chart_has_no_style_element_the_content_security_policy_would_block():
    """A <style> needs the response's CSP nonce (and matplotlib's ``*`` rule leaked onto the whole page)."""
    svg = chart_svg(series={"Reads": _points(5, 2)}, title="Reads")
    assert "<style" not in svg
