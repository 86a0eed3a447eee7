"""The hazard watch's settings (SPEC §8), read from the environment when the wing starts; a value
given to ``create_app`` (a test's) is kept."""

from __future__ import annotations

import os
import re

from incident.config import ConfigurationError

DEFAULT_METEOALARM_URL = "https://feeds.meteoalarm.org/feeds/meteoalarm-legacy-atom-hungary"
# MeteoAlarm's Hungarian areas are the counties and Budapest; HungaroMet names the capital so.
DEFAULT_METEOALARM_AREAS = ("Budapest",)
# The Danube at Vigadó tér: flood-defence readiness I, II and III (Budapest's own levels).
DEFAULT_GAUGE_LEVELS = (620, 700, 800)
DEFAULT_WATCH_MINUTES = 10
# /healthz answers 503 for the watch once a feed has not been read for this long (a feed down
# for one or two polls is normal weather on the internet; an hour without one is not).
DEFAULT_STALE_HEALTH_MINUTES = 60
FEED_TIMEOUT_SECONDS = 15
# A gauge reading proposes only if it is current: no older than this when it comes (a gauge file
# with the past days in it, or a reading typed in long after, is history and proposes nothing).
DEFAULT_GAUGE_FRESH_MINUTES = 360
FEED_MAX_BYTES = 10 * 1024 * 1024


def _url(name: str, default: str | None) -> str | None:
    """A feed's URL: unset, ``default``; set empty (or ``off``), the feed is not read."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    raw = raw.strip()
    if raw.lower() in ("", "off", "none"):
        return None
    if not re.match(r"https?://", raw, re.I):
        raise ConfigurationError(f"{name} must start with http:// or https://, not '{raw}'.")
    return raw


def parse_levels(raw: str, name: str = "RIADO_GAUGE_LEVELS") -> tuple[int, int, int]:
    """Three rising whole numbers of centimetres, comma-separated (``620,700,800``)."""
    parts = [p.strip() for p in raw.split(",")]
    try:
        levels = tuple(int(p) for p in parts)
    except ValueError:
        raise ConfigurationError(f"{name} must be three whole numbers of centimetres such as 620,700,800, "
                                 f"not '{raw}'.") from None
    if len(levels) != 3 or not (levels[0] < levels[1] < levels[2]):
        raise ConfigurationError(f"{name} must be three rising levels (I, II, III) such as 620,700,800, not '{raw}'.")
    return levels  # type: ignore[return-value]


def _minutes(name: str, default: int, unit: str = "minutes") -> int:
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigurationError(f"{name} must be a whole number of {unit}, 1 or more, not '{raw}'.")
    return int(raw)


def from_environment() -> dict:
    """The wing's settings."""
    areas = os.environ.get("RIADO_METEOALARM_AREAS")
    levels = os.environ.get("RIADO_GAUGE_LEVELS")
    return {
        "RIADO_METEOALARM_URL": _url("RIADO_METEOALARM_URL", DEFAULT_METEOALARM_URL),
        # EMMA_ID codes (HU…) or area names as the feed writes them, comma-separated.
        "RIADO_METEOALARM_AREAS": tuple(a.strip() for a in areas.split(",") if a.strip())
        if areas and areas.strip() else DEFAULT_METEOALARM_AREAS,
        "RIADO_GAUGE_URL": _url("RIADO_GAUGE_URL", None),
        "RIADO_GAUGE_LEVELS": parse_levels(levels) if levels and levels.strip() else DEFAULT_GAUGE_LEVELS,
        "RIADO_WATCH_MINUTES": _minutes("RIADO_WATCH_MINUTES", DEFAULT_WATCH_MINUTES),
        "RIADO_WATCH_STALE_HEALTH_MINUTES": _minutes("RIADO_WATCH_STALE_HEALTH_MINUTES", DEFAULT_STALE_HEALTH_MINUTES),
        "RIADO_WATCH_TIMEOUT_SECONDS": _minutes("RIADO_WATCH_TIMEOUT_SECONDS", FEED_TIMEOUT_SECONDS, "seconds"),
        "RIADO_GAUGE_FRESH_MINUTES": _minutes("RIADO_GAUGE_FRESH_MINUTES", DEFAULT_GAUGE_FRESH_MINUTES),
        "RIADO_WATCH_MAX_BYTES": FEED_MAX_BYTES,
    }


def configure(app) -> None:
    """Put the wing's settings on ``app.config`` where a test has not set them already."""
    for key, value in from_environment().items():
        app.config.setdefault(key, value)
    levels = app.config["RIADO_GAUGE_LEVELS"]
    if isinstance(levels, str):
        app.config["RIADO_GAUGE_LEVELS"] = parse_levels(levels)
    areas = app.config["RIADO_METEOALARM_AREAS"]
    if isinstance(areas, str):
        app.config["RIADO_METEOALARM_AREAS"] = tuple(a.strip() for a in areas.split(",") if a.strip())
