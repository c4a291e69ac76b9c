import math
import xml.etree.ElementTree as ET

import pytest
from django.utils import translation

from sprints.charts import BarSeries, Line, bar_chart, format_number, line_chart, nice_ticks, shown_x_indexes
from tests.html_safety import unsafe_parts

DAYS = [f"Day {n}" for n in range(1, 11)]
EVIL = '<script>alert("x")</script>'


def parse(html: str) -> tuple[ET.Element, ET.Element]:
    """The figure and its svg; the output is well-formed markup, so the XML parser reads all of it."""
    figure = ET.fromstring(html)  # noqa: S314 - our own renderer's output, not untrusted input
    svg = figure.find("div/svg")
    assert svg is not None
    return figure, svg


def burndown(values: list[float | None], **kwargs) -> str:
    labels = kwargs.pop("x_labels", [f"Day {n}" for n in range(1, len(values) + 1)])
    return line_chart(
        title="Burndown",
        x_labels=labels,
        lines=[Line(label="Remaining", values=values, kind="remaining")],
        y_label="Story points",
        **kwargs,
    )


def line_group(svg: ET.Element, kind: str) -> ET.Element:
    group = svg.find(f"g[@class='chart-line chart-line--{kind}']")
    assert group is not None
    return group


def points(polyline: ET.Element) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in (pair.split(",") for pair in polyline.get("points", "").split())]


def y_ticks(svg: ET.Element) -> list[str]:
    return [text.text or "" for text in svg.iter("text") if "chart-tick--y" in text.get("class", "")]


def x_ticks(svg: ET.Element) -> list[str]:
    return [text.text or "" for text in svg.iter("text") if "chart-tick--x" in text.get("class", "")]


def table_rows(figure: ET.Element) -> list[list[str]]:
    return [[cell.text or "" for cell in row] for row in figure.iterfind("table/tbody/tr")]


def test_line_chart_is_a_figure_with_a_titled_svg_legend_and_hidden_table():
    figure, svg = parse(burndown([40, 30, 20]))

    assert figure.get("class") == "chart chart--line"
    assert svg.get("role") == "img"
    assert svg.get("width") == "100%"
    assert svg.get("viewBox") == "0 0 760 320"
    title = svg.find("title")
    assert title is not None and title.text == "Burndown"
    assert svg.get("aria-labelledby") == title.get("id")
    assert svg.find("desc") is not None
    assert ["".join(li.itertext()) for li in figure.iterfind("ul[@class='chart-legend']/li")] == ["Remaining"]
    assert figure.find("table[@class='visually-hidden']") is not None


def test_polyline_has_one_point_per_value_and_a_dot_on_each():
    _, svg = parse(burndown([40, 34, 30, 21, 12]))

    group = line_group(svg, "remaining")
    polylines = group.findall("polyline")
    assert len(polylines) == 1
    assert len(points(polylines[0])) == 5
    assert len(group.findall("circle")) == 5


def test_a_missing_value_in_the_middle_splits_the_line_in_two():
    _, svg = parse(burndown([40, 34, None, 21, 12, 8]))

    polylines = line_group(svg, "remaining").findall("polyline")
    assert [len(points(p)) for p in polylines] == [2, 3]


def test_missing_values_at_the_end_stop_the_line_there():
    _, svg = parse(burndown([40, 34, 30, None, None, None]))

    polylines = line_group(svg, "remaining").findall("polyline")
    assert [len(points(p)) for p in polylines] == [3]


def test_an_isolated_point_is_drawn_as_a_dot_even_without_per_point_dots():
    values: list[float | None] = [None] * 40
    values[5] = 12
    values[10:20] = [10] * 10

    group = line_group(parse(burndown(values))[1], "remaining")

    assert [len(points(p)) for p in group.findall("polyline")] == [10]
    assert len(group.findall("circle")) == 1


def test_lines_take_their_kind_and_dashes_as_classes_not_colours():
    html = line_chart(
        title="Burndown",
        x_labels=DAYS,
        lines=[
            Line(label="Ideal", values=[40 - 4 * i for i in range(10)], kind="ideal", dashed=True),
            Line(label="Remaining", values=[40, 38, 30, None, None, None, None, None, None, None], kind="remaining"),
        ],
        y_label="Story points",
    )
    figure, svg = parse(html)

    assert svg.find("g[@class='chart-line chart-line--ideal chart-line--dashed']") is not None
    assert figure.find("ul/li/span[@class='chart-swatch chart-swatch--ideal chart-swatch--dashed']") is not None
    assert "stroke=" not in html and "fill=" not in html and "style=" not in html


def test_points_are_placed_on_the_y_scale():
    _, svg = parse(burndown([40, 20, 0]))

    (first, middle, last) = points(line_group(svg, "remaining").findall("polyline")[0])
    assert first[1] < middle[1] < last[1]
    assert middle[1] == pytest.approx((first[1] + last[1]) / 2, abs=0.1)
    assert first[0] < middle[0] < last[0]


@pytest.mark.parametrize(
    ("maximum", "ticks"),
    [
        (37, [0, 10, 20, 30, 40]),
        (40, [0, 10, 20, 30, 40]),
        (23, [0, 5, 10, 15, 20, 25]),
        (7, [0, 2, 4, 6, 8]),
        (12, [0, 2.5, 5, 7.5, 10, 12.5]),
        (1.2, [0, 0.5, 1, 1.5]),
        (0.3, [0, 0.2, 0.4, 0.6, 0.8, 1]),
        (0, [0, 1, 2, 3, 4, 5]),
        (180, [0, 50, 100, 150, 200]),
    ],
)
def test_y_ticks_are_round_and_cover_the_maximum(maximum, ticks):
    assert nice_ticks(maximum) == ticks


def test_y_ticks_always_number_four_to_six_with_a_nice_step():
    for maximum in [n / 4 for n in range(1, 4000)] + [0.01, 0.5, 999_999]:
        ticks = nice_ticks(maximum)
        step = ticks[1]

        assert 4 <= len(ticks) <= 6
        assert ticks[0] == 0
        assert ticks[-1] >= maximum
        assert round(step / 10 ** math.floor(math.log10(step)), 6) in {1, 2, 2.5, 5}
        assert ticks == [pytest.approx(i * step) for i in range(len(ticks))]


def test_the_rendered_axis_shows_the_nice_ticks():
    _, svg = parse(burndown([37, 30, 11]))

    assert y_ticks(svg) == ["0", "10", "20", "30", "40"]


def test_all_zero_and_empty_data_render():
    for html in (
        burndown([0, 0, 0]),
        burndown([None, None]),
        line_chart(title="Burndown", x_labels=[], lines=[], y_label="Points"),
        bar_chart(
            title="Velocity", x_labels=["S1"], series=[BarSeries("Done", "completed")], values=[[0]], y_label="P"
        ),
        bar_chart(title="Velocity", x_labels=[], series=[], values=[], y_label="Points"),
    ):
        _, svg = parse(html)
        assert y_ticks(svg) == ["0", "1", "2", "3", "4", "5"]


def test_a_single_day_renders_as_one_dot():
    group = line_group(parse(burndown([13]))[1], "remaining")

    assert group.findall("polyline") == []
    assert len(group.findall("circle")) == 1


def test_every_text_is_escaped():
    html = line_chart(
        title=EVIL,
        x_labels=[EVIL, "Day 2"],
        lines=[Line(label=EVIL, values=[3, 2], kind="remaining")],
        y_label=EVIL,
        marker_index=1,
        marker_label=EVIL,
    )
    bars = bar_chart(
        title=EVIL,
        x_labels=[EVIL],
        series=[BarSeries(label=EVIL, kind="completed")],
        values=[[3]],
        y_label=EVIL,
        average=3,
        average_label=EVIL,
    )

    for chart in (html, bars):
        assert "<script" not in chart
        assert unsafe_parts(chart, allow_tags=frozenset({"svg"})) == []
        figure, svg = parse(chart)
        assert svg.findtext("title") == EVIL
        assert "".join(figure.find("ul/li").itertext()) == EVIL
        assert figure.findtext("table/caption") == EVIL
        assert figure.findtext("table/thead/tr/th") == EVIL
        assert figure.findtext("table/tbody/tr/th") == EVIL


def test_the_hidden_table_carries_every_value():
    html = line_chart(
        title="Burnup",
        x_labels=["Mon", "Tue", "Wed"],
        lines=[
            Line(label="Scope", values=[20, 22.5, 22.5], kind="scope"),
            Line(label="Completed", values=[0, 4.24, None], kind="completed"),
        ],
        y_label="Story points",
    )
    figure, _ = parse(html)

    assert [th.text for th in figure.iterfind("table/thead/tr/th")] == ["Scope", "Completed"]
    assert table_rows(figure) == [["Mon", "20", "0"], ["Tue", "22.5", "4.2"], ["Wed", "22.5", "\u2013"]]


def test_numbers_are_compact_and_localised():
    assert [format_number(v) for v in (3.0, 2.5, 2.46, 0.04, -0.04, None)] == ["3", "2.5", "2.5", "0", "0", "\u2013"]
    with translation.override("ru"):
        assert format_number(2.5) == "2,5"


def test_many_x_labels_are_thinned_but_keep_the_first_and_last():
    labels = [f"D{n}" for n in range(1, 61)]
    _, svg = parse(burndown([60 - n for n in range(60)], x_labels=labels))

    shown = x_ticks(svg)
    assert len(shown) <= 12
    assert shown[0] == "D1"
    assert shown[-1] == "D60"
    assert line_group(svg, "remaining").findall("circle") == []


def test_thinned_x_labels_stay_in_order_within_the_limit():
    for count in range(1, 400):
        shown = shown_x_indexes(count)

        assert 1 <= len(shown) <= 12
        assert shown[0] == 0
        assert shown[-1] == count - 1
        assert shown == sorted(set(shown))


def test_few_x_labels_are_all_shown():
    _, svg = parse(burndown([10] * 10))

    assert x_ticks(svg) == [f"Day {n}" for n in range(1, 11)]


def test_marker_draws_the_today_rule_at_its_x_position():
    _, svg = parse(burndown([40, 34, 30, None, None], marker_index=2, marker_label="Today"))

    marker = svg.find("g[@class='chart-marker']")
    assert marker is not None
    rule = marker.find("line")
    assert rule is not None
    third_point = points(line_group(svg, "remaining").findall("polyline")[0])[2]
    assert float(rule.get("x1", "")) == third_point[0] == float(rule.get("x2", ""))
    assert marker.findtext("text") == "Today"


def test_no_marker_without_an_index_or_outside_the_chart():
    for html in (burndown([3, 2, 1]), burndown([3, 2, 1], marker_index=7, marker_label="Today")):
        assert parse(html)[1].find("g[@class='chart-marker']") is None


def test_a_line_with_the_wrong_number_of_values_is_refused():
    with pytest.raises(ValueError, match="3 values for 2 x labels"):
        line_chart(title="t", x_labels=["a", "b"], lines=[Line("L", [1, 2, 3], "remaining")], y_label="y")


def velocity(**kwargs) -> str:
    return bar_chart(
        title="Velocity",
        x_labels=["Sprint 1", "Sprint 2", "Sprint 3"],
        series=[BarSeries("Committed", "committed"), BarSeries("Completed", "completed")],
        values=[[20, 10], [25, 20], [30, 40]],
        y_label="Story points",
        **kwargs,
    )


def bars(svg: ET.Element, kind: str) -> list[ET.Element]:
    return svg.findall(f"rect[@class='chart-bar chart-bar--{kind}']")


def test_bar_chart_draws_one_bar_per_group_and_series():
    figure, svg = parse(velocity())

    assert figure.get("class") == "chart chart--bar"
    assert len(svg.findall("rect")) == 3 * 2
    assert len(bars(svg, "committed")) == 3
    assert len(bars(svg, "completed")) == 3
    assert ["".join(li.itertext()) for li in figure.iterfind("ul/li")] == ["Committed", "Completed"]
    assert table_rows(figure) == [["Sprint 1", "20", "10"], ["Sprint 2", "25", "20"], ["Sprint 3", "30", "40"]]
    assert y_ticks(svg) == ["0", "10", "20", "30", "40"]


def test_bar_height_is_proportional_to_its_value():
    _, svg = parse(velocity())
    committed, completed = bars(svg, "committed"), bars(svg, "completed")

    def height(rect: ET.Element) -> float:
        return float(rect.get("height", ""))

    assert height(completed[0]) * 2 == pytest.approx(height(completed[1]), abs=0.2)
    assert height(committed[2]) * 4 / 3 == pytest.approx(height(completed[2]), abs=0.2)
    # Bars stand on the axis: their bottoms line up.
    bottoms = {round(float(r.get("y", "")) + height(r), 1) for r in committed + completed}
    assert len(bottoms) == 1
    # Within a group, the series keep their order left to right.
    assert float(committed[0].get("x", "")) < float(completed[0].get("x", "")) < float(committed[1].get("x", ""))


def test_average_rule_appears_only_when_given():
    figure, svg = parse(velocity(average=25, average_label="Average: 25"))

    rule = svg.find("g[@class='chart-average']/line")
    assert rule is not None
    assert rule.get("y1") == rule.get("y2") == bars(svg, "committed")[1].get("y")
    assert svg.find("g[@class='chart-average']/text") is None  # on the rule it would cover the bars
    legend = ["".join(item.itertext()).strip() for item in figure.iterfind("ul/li")]
    assert legend[-1] == "Average: 25"
    assert [cell.text for cell in figure.iterfind("table/tfoot/tr/*")] == ["Average: 25", "25"]

    assert parse(velocity())[1].find("g[@class='chart-average']") is None


def test_average_above_every_bar_still_fits_the_axis():
    _, svg = parse(velocity(average=55, average_label="Average"))

    assert y_ticks(svg)[-1] == "60"


def test_output_is_deterministic_and_ids_differ_between_charts():
    assert velocity() == velocity()
    first, second = parse(burndown([3, 2, 1]))[1], parse(burndown([3, 2, 0]))[1]
    assert first.get("aria-labelledby") != second.get("aria-labelledby")


def test_bar_values_must_match_labels_and_series():
    with pytest.raises(ValueError, match="rows of 2"):
        bar_chart(
            title="t",
            x_labels=["a"],
            series=[BarSeries("A", "committed"), BarSeries("B", "completed")],
            values=[[1]],
            y_label="y",
        )
