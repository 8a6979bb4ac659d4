"""Server-rendered SVG charts: the shapes `templates/includes/svg_chart.html`
draws, in SVG coordinates. No chart library and no script: they load offline,
pass the Content-Security-Policy untouched (classes, no style attributes) and
read without JavaScript; every page that shows one also shows its numbers as
a table.

Every chart is a dict: width, height, the plot box (left, right, top, bottom),
`y_ticks` and `x_ticks` ({"at", "label"}), horizontal grid lines at the y
ticks, and marks: `rects` ({x, y, width, height, css, title}) and/or a `line`
(an SVG points string) with its `area`.
"""

import math

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 28
TIMELINE_ROW = 24
MAX_BAR_WIDTH = 36


def nice_ticks(highest: float, count: int = 4) -> list[float]:
    """0 and round steps (1, 2, 2.5 or 5 times a power of ten) up to the first
    one at or above `highest`: 0, 250, 500, 750, 1000 rather than 0 and 937."""
    if not highest or highest <= 0:
        highest = 1
    raw = highest / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    steps = math.ceil(highest / step - 1e-9)
    return [round(index * step, 9) for index in range(steps + 1)]


def duration_ticks(highest: float, count: int = 5) -> list[float]:
    """Ticks on round times: seconds, then 10, 15, 20, 30 s, 1, 2, 5, 10, 15, 30 minutes, hours."""
    if highest <= 30:
        return nice_ticks(highest, count)
    for step in (10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400):
        if highest / step <= count:
            break
    steps = math.ceil(highest / step - 1e-9)
    return [index * step for index in range(steps + 1)]


def compact(number: float) -> str:
    """12345 -> "12.3k": short axis labels."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= limit:
            return f"{number / limit:.1f}".rstrip("0").rstrip(".") + suffix
    if number != int(number):
        return f"{number:.2f}".rstrip("0").rstrip(".")
    return str(int(number))


def human_duration(seconds: float | None) -> str:
    """< 0.1 s, 4.2 s, 42 s, 3 min 05 s, 2 h 03 min, 1 d 4 h; "—" for no value."""
    if seconds is None:
        return "—"
    seconds = max(0.0, float(seconds))
    if seconds == 0:
        return "0 s"
    if seconds < 0.1:
        return "< 0.1 s"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    whole = int(round(seconds))
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    if whole < 86400:
        return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
    return f"{whole // 86400} d {whole % 86400 // 3600} h"


def tick_duration(seconds: float) -> str:
    """Axis labels for times: 0, 30 s, 2 min, 1 h 30."""
    if seconds < 60:
        return f"{compact(seconds)} s" if seconds else "0"
    if seconds < 3600:
        minutes, rest = divmod(int(seconds), 60)
        return f"{minutes} min" if not rest else f"{minutes}:{rest:02d}"
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours} h" if not rest else f"{hours} h {rest // 60:02d}"


class Plot:
    """The plot box of a chart and its value-to-coordinate mappings."""

    def __init__(self, x_max: float, y_ticks: list[float], width=WIDTH, height=HEIGHT):
        self.width, self.height = width, height
        self.left, self.right = LEFT, width - RIGHT
        self.top, self.bottom = TOP, height - BOTTOM
        self.x_max = x_max or 1
        self.y_ticks = y_ticks
        self.y_max = y_ticks[-1] or 1

    def x(self, value: float) -> float:
        return round(self.left + (self.right - self.left) * value / self.x_max, 2)

    def y(self, value: float) -> float:
        return round(self.bottom - (self.bottom - self.top) * value / self.y_max, 2)

    def chart(self, title: str, y_label=compact, **marks) -> dict:
        return {
            "title": title,
            "width": self.width,
            "height": self.height,
            "left": self.left,
            "right": self.right,
            "top": self.top,
            "bottom": self.bottom,
            "y_ticks": [{"at": self.y(tick), "label": y_label(tick)} for tick in self.y_ticks],
            "x_ticks": [],
            "rects": [],
            **marks,
        }


def throughput_points(samples: list[list[float]]) -> list[dict]:
    """Rows per second between consecutive [seconds, rows read] samples."""
    points = []
    for (t0, rows0), (t1, rows1) in zip(samples, samples[1:], strict=False):
        if t1 > t0:
            points.append(
                {"seconds": t1, "rows_read": rows1, "rows_per_second": round((rows1 - rows0) / (t1 - t0), 1)}
            )
    return points


def throughput_chart(points: list[dict]) -> dict | None:
    """Rows read per second over the run's time (a line and its area)."""
    if not points:
        return None
    x_ticks = duration_ticks(points[-1]["seconds"])
    plot = Plot(x_ticks[-1], nice_ticks(max(p["rows_per_second"] for p in points)))
    coordinates = [(plot.x(0), plot.y(points[0]["rows_per_second"]))] + [
        (plot.x(p["seconds"]), plot.y(p["rows_per_second"])) for p in points
    ]
    line = " ".join(f"{x},{y}" for x, y in coordinates)
    area = f"{plot.x(0)},{plot.bottom} {line} {coordinates[-1][0]},{plot.bottom}"
    chart = plot.chart("Rows read per second over the run", line=line, area=area)
    chart["x_ticks"] = [{"at": plot.x(tick), "label": tick_duration(tick)} for tick in x_ticks]
    return chart


def component_timeline(counters: dict[str, dict], run_seconds: float | None) -> dict | None:
    """One row per component: a bar from its first to its last moment of work
    (seconds since the run started), as the engine recorded them."""
    # In the order they started work: a JSON column keeps no key order on PostgreSQL.
    rows = sorted(
        (
            (name, c["busy_from"], c["busy_until"], c.get("seconds", 0.0))
            for name, c in counters.items()
            if c.get("busy_from") is not None and c.get("busy_until") is not None
        ),
        key=lambda row: (row[1], row[0]),
    )
    if not rows:
        return None
    end = max([run_seconds or 0.0] + [until for _, _, until, _ in rows])
    x_ticks = duration_ticks(end)
    height = TOP + BOTTOM + TIMELINE_ROW * len(rows)
    plot = Plot(x_ticks[-1], [0], height=height)
    plot.left = 120  # room for the component names
    rects, labels = [], []
    for index, (name, since, until, busy) in enumerate(rows):
        top = TOP + index * TIMELINE_ROW
        x = plot.x(since)
        rects.append(
            {
                "x": x,
                "y": top + 4,
                "width": max(round(plot.x(until) - x, 2), 1.5),
                "height": TIMELINE_ROW - 8,
                "css": "busy",
                "title": f"{name}: from {human_duration(since)} to {human_duration(until)}, "
                f"busy {human_duration(busy)}",
            }
        )
        labels.append({"at": top + TIMELINE_ROW / 2 + 4, "label": name})
    chart = plot.chart("When each component was busy", rects=rects)
    chart["y_ticks"], chart["row_labels"] = [], labels
    chart["x_ticks"] = [{"at": plot.x(tick), "label": tick_duration(tick)} for tick in x_ticks]
    # The same rows for the table view, in the same order.
    chart["rows"] = [
        {"name": n, "since": since, "until": until, "busy": busy} for n, since, until, busy in rows
    ]
    return chart


def bars(
    values: list[dict], key: str, title: str, *, ticks=nice_ticks, y_label=compact, css_of=None, label_of=None
) -> dict:
    """One bar per item of `values` (oldest first) with value `item[key]`."""
    plot = Plot(len(values), ticks(max((v[key] or 0 for v in values), default=0)))
    slot = (plot.right - plot.left) / max(len(values), 1)
    rects, x_ticks = [], []
    every = max(1, math.ceil(len(values) / 10))
    for index, item in enumerate(values):
        value = item[key] or 0
        top = plot.y(value)
        width = min(slot * 0.7, MAX_BAR_WIDTH)
        x = round(plot.left + index * slot + (slot - width) / 2, 2)
        rects.append(
            {
                "x": x,
                "y": top,
                "width": round(width, 2),
                "height": round(plot.bottom - top, 2),
                "css": css_of(item) if css_of else "rows",
                "title": item.get("title", ""),
            }
        )
        if label_of and (len(values) - 1 - index) % every == 0:
            x_ticks.append({"at": round(x + width / 2, 2), "label": label_of(item)})
    chart = plot.chart(title, y_label=y_label, rects=rects)
    chart["x_ticks"] = x_ticks
    return chart
