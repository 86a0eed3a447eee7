"""River gauges, pure: the file ``RIADO_GAUGE_URL`` serves, the readiness threshold of a level,
the 24-hour trend and the chart of the last days (an SVG drawn on the server).

The gauge file is JSON or CSV, UTF-8:

- JSON: ``{"readings": [{"station": "Vigadó tér", "level_cm": 705, "time": "2026-06-10T14:00:00+02:00"}, …]}``
  (or the list alone);
- CSV: a header ``station,level_cm,time`` (comma or semicolon), one reading a row.

``time`` is ISO 8601; without an offset it is the municipality's time (RIADO_TIMEZONE). A file
with a row that cannot be read is refused whole, naming the row and the field."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import unicodedata
from dataclasses import dataclass
from html import escape
from zoneinfo import ZoneInfo

MAX_STATION_LENGTH = 100
MAX_LEVEL_CM = 5000  # a gauge's zero is below the lowest water: no river stands 50 m above it
MIN_LEVEL_CM = -1000


class GaugeFileError(Exception):
    """The gauge file cannot be read; the message names the row and the field."""


@dataclass(frozen=True)
class Reading:
    station: str
    level_cm: int
    at: dt.datetime


def threshold_of(level_cm: int, levels) -> int:
    """0 below the first level; 1, 2 or 3 at or above the first, second or third."""
    return sum(1 for level in levels if level_cm >= level)


class UnstorableText(ValueError):
    """Text with a character no database keeps or no page shows: a NUL or another control
    character, or half of a surrogate pair."""


def clean_station(value) -> str:
    """A station's name: text of 1 to 100 characters, spaces collapsed, no control character."""
    if not isinstance(value, str) or not " ".join(value.split()):
        raise ValueError("a station name is required")
    name = " ".join(value.split())
    if len(name) > MAX_STATION_LENGTH:
        raise ValueError(f"at most {MAX_STATION_LENGTH} characters")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in name):
        raise UnstorableText("contains a character that cannot be stored (a NUL or another control character)")
    return name


def clean_level(value) -> int:
    """A level in whole centimetres (a number, or its digits as text)."""
    if isinstance(value, bool):
        raise ValueError("must be a whole number of centimetres")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and value.strip().isascii():
        value = int(value.strip())
    if not isinstance(value, int):
        raise ValueError("must be a whole number of centimetres")
    if not MIN_LEVEL_CM <= value <= MAX_LEVEL_CM:
        raise ValueError(f"must be between {MIN_LEVEL_CM} and {MAX_LEVEL_CM} cm")
    return value


def clean_time(value, timezone: str) -> dt.datetime:
    """An ISO 8601 time; without an offset, in ``timezone``. Aware, UTC."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a time is required (ISO 8601, e.g. 2026-06-10T14:00:00+02:00)")
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("must be an ISO 8601 time such as 2026-06-10T14:00:00+02:00") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(timezone))
    try:
        return parsed.astimezone(dt.timezone.utc)
    except OverflowError:  # year 1 or 9999 shifted out of range
        raise ValueError("must be an ISO 8601 time such as 2026-06-10T14:00:00+02:00") from None


def _reading(row: dict, number: int, timezone: str) -> Reading:
    values = {}
    for name, clean in (("station", clean_station), ("level_cm", clean_level),
                        ("time", lambda v: clean_time(v, timezone))):
        try:
            values[name] = clean(row.get(name))
        except ValueError as exc:
            raise GaugeFileError(f"row {number}, {name}: {exc}") from None
    return Reading(values["station"], values["level_cm"], values["time"])


def parse_gauge_file(data: bytes, timezone: str) -> list[Reading]:
    """The readings of a gauge file (JSON or CSV, see the module's docstring)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise GaugeFileError("the file is not UTF-8 text") from None
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            document = json.loads(stripped)
        except ValueError as exc:
            raise GaugeFileError(f"not valid JSON ({exc})") from None
        rows = document.get("readings") if isinstance(document, dict) else document
        if not isinstance(rows, list):
            raise GaugeFileError('JSON: expected {"readings": [...]} or a list of readings')
        out = []
        for number, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                raise GaugeFileError(f"row {number}: expected an object with station, level_cm and time")
            out.append(_reading(row, number, timezone))
        return out
    lines = stripped.splitlines()
    if not lines:
        raise GaugeFileError("the file is empty")
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.DictReader(io.StringIO(stripped), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise GaugeFileError(f"CSV: the header cannot be read ({exc})") from None
    missing = [c for c in ("station", "level_cm", "time") if c not in header]
    if missing:
        raise GaugeFileError(f"CSV: the header lacks {', '.join(missing)} (expected station,level_cm,time)")
    reader.fieldnames = header
    try:
        return [_reading({k: (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k}, number, timezone)
                for number, row in enumerate(reader, start=2)]
    except csv.Error as exc:  # a field longer than the csv module takes, a quote left open
        raise GaugeFileError(f"CSV: row {reader.line_num}: {exc}") from None


def trend_24h(points: list[tuple[dt.datetime, int]], now: dt.datetime) -> int | None:
    """The change in centimetres over the last 24 hours: the newest level less the level 24 hours
    before it (the last reading at or before then, else the oldest of the day). None with fewer
    than two readings in the window."""
    if not points:
        return None
    points = sorted(points)
    newest_at, newest = points[-1]
    since = newest_at - dt.timedelta(hours=24)
    before = [p for p in points if p[0] <= since]
    start = before[-1] if before else next((p for p in points if p[0] >= since), None)
    if start is None or start[0] == newest_at:
        return None
    return newest - start[1]


def chart_svg(points: list[tuple[dt.datetime, int]], levels, start: dt.datetime, end: dt.datetime,
              timezone: str, title: str, level_names=("I", "II", "III")) -> str:
    """An SVG line chart of ``points`` (time, cm) from ``start`` to ``end`` with the readiness
    levels drawn across it; every text escaped."""
    width, height, left, right, top, bottom = 760, 260, 52, 96, 14, 30
    inner_w, inner_h = width - left - right, height - top - bottom
    values = [v for _, v in points] + list(levels)
    low = min(values) - 20
    high = max(values) + 20
    low, high = (low // 50) * 50, -((-high) // 50) * 50
    span = (end - start).total_seconds() or 1
    zone = ZoneInfo(timezone)

    def x(at: dt.datetime) -> float:
        return left + inner_w * min(max((at - start).total_seconds() / span, 0), 1)

    def y(cm: float) -> float:
        return top + inner_h * (1 - (cm - low) / ((high - low) or 1))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'class="gauge-chart" aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<rect x="{left}" y="{top}" width="{inner_w}" height="{inner_h}" class="gauge-chart-area"/>']
    step = 50 if high - low <= 400 else 100
    for cm in range(int(low), int(high) + 1, step):
        parts.append(f'<line x1="{left}" x2="{left + inner_w}" y1="{y(cm):.1f}" y2="{y(cm):.1f}" class="gauge-grid"/>'
                     f'<text x="{left - 6}" y="{y(cm) + 4:.1f}" text-anchor="end" class="gauge-tick">{cm}</text>')
    day = start.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    while day < end:
        parts.append(f'<line x1="{x(day):.1f}" x2="{x(day):.1f}" y1="{top}" y2="{top + inner_h}" class="gauge-grid"/>'
                     f'<text x="{x(day):.1f}" y="{height - 10}" text-anchor="middle" class="gauge-tick">'
                     f'{day.strftime("%m-%d")}</text>')
        day += dt.timedelta(days=1)
    for number, (cm, name) in enumerate(zip(levels, level_names), start=1):
        parts.append(f'<line x1="{left}" x2="{left + inner_w}" y1="{y(cm):.1f}" y2="{y(cm):.1f}" '
                     f'class="gauge-level gauge-level-{number}" data-level="{cm}"/>'
                     f'<text x="{left + inner_w + 4}" y="{y(cm) + 4:.1f}" class="gauge-level-label gauge-level-{number}">'
                     f'{escape(name)} {cm}</text>')
    shown = sorted(p for p in points if start <= p[0] <= end)
    if shown:
        path = " ".join(f"{x(at):.1f},{y(cm):.1f}" for at, cm in shown)
        parts.append(f'<polyline points="{path}" class="gauge-line"/>')
        last_at, last = shown[-1]
        parts.append(f'<circle cx="{x(last_at):.1f}" cy="{y(last):.1f}" r="4" class="gauge-point"/>')
    parts.append("</svg>")
    return "".join(parts)
