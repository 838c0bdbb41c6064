"""Trend charts as inline SVG, drawn on the server so they work without JavaScript.

Each chart also carries a text summary (for the SVG's accessible description) and the
readings as rows for a data table, so screen-reader users get the same information.
"""

from dataclasses import dataclass, field

from django.template.defaultfilters import floatformat
from django.utils import formats, timezone
from django.utils.html import format_html_join

# Drawn for a phone first: the SVG scales to the card's width (at most 30rem), and a narrow
# canvas keeps its labels readable there (a 600-unit canvas on a 320 px screen halves them).
WIDTH, HEIGHT = 400, 240
LEFT, RIGHT, TOP, BOTTOM = 60, 14, 14, 34
# Lines differ by dash pattern and marker shape as well as colour (WCAG 1.4.1).
LINE_STYLES = [
    {"class": "chart__line chart__line--1", "dash": "", "marker": "circle"},
    {"class": "chart__line chart__line--2", "dash": "6 4", "marker": "square"},
]


@dataclass
class Line:
    key: str
    label: str
    points: list = field(default_factory=list)  # [(x, y, moment, value)]
    style: dict = field(default_factory=dict)

    @property
    def path(self):
        return " ".join(f"{x:.1f},{y:.1f}" for x, y, _m, _v in self.points)

    @property
    def markers(self):
        """The point markers as SVG markup (built here: hundreds of points per chart)."""
        css = self.style.get("class", "") + "-marker"
        if self.style.get("marker") == "square":
            return format_html_join(
                "",
                '<rect class="{}" x="{}" y="{}" width="8" height="8"></rect>',
                ((css, f"{x - 4:.1f}", f"{y - 4:.1f}") for x, y, _m, _v in self.points),
            )
        return format_html_join(
            "",
            '<circle class="{}" cx="{}" cy="{}" r="4"></circle>',
            ((css, f"{x:.1f}", f"{y:.1f}") for x, y, _m, _v in self.points),
        )


@dataclass
class Chart:
    slug: str
    title: str
    unit: str
    lines: list
    rows: list  # [(moment, [value per line])]
    y_ticks: list  # [(y, label)]
    x_ticks: list  # [(x, moment)]
    minimum: float = 0
    maximum: float = 0
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT

    @property
    def latest(self):
        return self.rows[-1] if self.rows else None

    @property
    def table_rows(self):
        """The data table's body rows as markup (built here: hundreds of rows per chart)."""
        return format_html_join(
            "",
            '<tr><th scope="row"><time datetime="{}">{}</time></th>{}</tr>',
            (
                (
                    moment.isoformat(),
                    shown,
                    format_html_join("", "<td>{}</td>", ((v,) for v in values)),
                )
                for moment, shown, values in self.rows
            ),
        )


def _nice_range(low, high):
    if low == high:
        return low - 1, high + 1
    pad = (high - low) * 0.1
    return low - pad, high + pad


def build_chart(slug, title, points, line_labels):
    """A Chart from [(moment, {line key: value}, unit)], or None when there is no data.

    `line_labels` maps line keys to their labels, in drawing order.
    """
    if not points:
        return None
    points = sorted(points, key=lambda p: p[0])
    unit = next((p[2] for p in points if p[2]), "")
    values = [v for _m, vals, _u in points for v in vals.values()]
    low, high = _nice_range(min(values), max(values))
    start, end = points[0][0], points[-1][0]
    span = (end - start).total_seconds() or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(moment):
        if start == end:
            return LEFT + plot_w / 2
        return LEFT + plot_w * (moment - start).total_seconds() / span

    def y_of(value):
        return TOP + plot_h * (1 - (value - low) / (high - low))

    lines = []
    for index, (key, label) in enumerate(line_labels.items()):
        line = Line(key, label, style=LINE_STYLES[index % len(LINE_STYLES)])
        for moment, vals, _unit in points:
            if key in vals:
                line.points.append((x_of(moment), y_of(vals[key]), moment, vals[key]))
        if line.points:
            lines.append(line)
    # Table rows pre-formatted in the active language: (ISO date, shown date, values).
    rows = [
        (
            moment,
            formats.date_format(timezone.localtime(moment), "DATE_FORMAT"),
            [floatformat(vals[key], -1) if key in vals else "–" for key in line_labels],
        )
        for moment, vals, _u in points
    ]
    y_ticks = [(y_of(v), v) for v in (low + (high - low) * f for f in (0.1, 0.5, 0.9))]
    x_ticks = [(x_of(start), start)]
    if end != start:
        x_ticks.append((x_of(end), end))
    return Chart(
        slug=slug,
        title=title,
        unit=unit,
        lines=lines,
        rows=rows,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        minimum=min(values),
        maximum=max(values),
    )
