"""Simulation calendar and fast, deterministic date/time formatting.

Days are integers: day 0 = START (2024-01-01 by default), N_DAYS = 731 simulated days. Formatting goes
through lookup tables (one string per day / per second of day) so millions of rows format with numpy indexing
instead of per-row strftime. ``calendar_from(date)`` moves day 0 to another January 1st for one generation
(same day numbers, other calendar dates): data from 2016 or 2031 for tests of calendars and date ranges.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import numpy as np

DEFAULT_START = dt.date(2024, 1, 1)
N_DAYS = 731  # two years (2024 is a leap year): every generation simulates this many days, whatever its start
START = DEFAULT_START
END = START + dt.timedelta(days=N_DAYS - 1)
# Table range: masters are created up to ~8 years before START; events can spill past END.
_TABLE_FIRST = dt.date(START.year - 10, 1, 1)
_TABLE_LAST = dt.date(START.year + 3, 12, 31)
_OFFSET = (START - _TABLE_FIRST).days  # table index of day 0


def _set_start(start: dt.date) -> None:
    global START, END, _TABLE_FIRST, _TABLE_LAST, _OFFSET
    START, END = start, start + dt.timedelta(days=N_DAYS - 1)
    _TABLE_FIRST, _TABLE_LAST = dt.date(start.year - 10, 1, 1), dt.date(start.year + 3, 12, 31)
    _OFFSET = (START - _TABLE_FIRST).days
    _date_table.cache_clear()
    day_calendar.cache_clear()


@contextmanager
def calendar_from(start: dt.date | None) -> Iterator[None]:
    """Within the block, day 0 is ``start`` (a January 1st; None = the default 2024-01-01). Batch months,
    weekdays and seasons follow the new calendar. Raises ValueError for a start that is not a January 1st."""
    start = start or DEFAULT_START
    if (start.month, start.day) != (1, 1):
        raise ValueError(f"start_date must be a January 1st (batches are calendar months of whole years), not {start}")
    previous = START
    _set_start(start)
    try:
        yield
    finally:
        _set_start(previous)


def day_to_date(day: int) -> dt.date:
    return START + dt.timedelta(days=int(day))


@cache
def _date_table(fmt: str) -> np.ndarray:
    n = (_TABLE_LAST - _TABLE_FIRST).days + 1
    return np.array([(_TABLE_FIRST + dt.timedelta(days=i)).strftime(fmt) for i in range(n)], dtype=object)


@cache
def _time_table() -> np.ndarray:
    return np.array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)], dtype=object)


def fmt_dates(days: np.ndarray, fmt: str = "%Y-%m-%d") -> np.ndarray:
    """Day numbers -> strings (object array); negative sentinel -99999 -> None."""
    days = np.asarray(days, dtype=np.int64)
    out = _date_table(fmt)[np.clip(days + _OFFSET, 0, None)]
    if (days == NULL_DAY).any():
        out = out.copy()
        out[days == NULL_DAY] = None
    return out


NULL_DAY = -99999
NULL_TS = np.iinfo(np.int64).min


def fmt_timestamps(secs: np.ndarray, sep: str = " ", suffix: str = "") -> np.ndarray:
    """Seconds since START midnight -> 'YYYY-mm-dd HH:MM:SS' + suffix (e.g. 'Z', '+01:00')."""
    secs = np.asarray(secs, dtype=np.int64)
    null = secs == NULL_TS
    s = np.where(null, 0, secs)
    d = _date_table("%Y-%m-%d")[s // 86400 + _OFFSET]
    t = _time_table()[s % 86400]
    out = d + sep + t + suffix if suffix else d + sep + t
    if null.any():
        out[null] = None
    return out


@cache
def day_calendar() -> dict[str, np.ndarray]:
    """Per simulated day: weekday (0=Mon), day of year, month key index, month key strings."""
    dates = [day_to_date(d) for d in range(N_DAYS)]
    return {
        "dow": np.array([d.weekday() for d in dates], dtype=np.int64),
        "doy": np.array([d.timetuple().tm_yday for d in dates], dtype=np.int64),
        "month_idx": np.array([(d.year - START.year) * 12 + d.month - 1 for d in dates], dtype=np.int64),
    }


def months() -> list[str]:
    """Batch keys 'YYYY-MM' of the simulated months, in order. Keys are named in the DEFAULT calendar
    (2024-01 ...) whatever the generation's start, so module-level tables built from them at import stay
    valid; the landing writer names files in the generation's calendar (``calendar_batch``)."""
    out = []
    end = DEFAULT_START + dt.timedelta(days=N_DAYS - 1)
    for i in range((end.year - DEFAULT_START.year) * 12 + end.month):
        out.append(f"{DEFAULT_START.year + i // 12}-{i % 12 + 1:02d}")
    return out


def calendar_batch(key: str) -> str:
    """A batch key of ``months()`` (or any 'YYYY-MM' / 'YYYY' key in the default calendar) in the current
    calendar: the same month index counted from START. Other strings (sentinels) are returned unchanged."""
    shift = START.year - DEFAULT_START.year
    if shift and len(key) >= 4 and key[:4].isdigit() and key[:4] != "9999":
        return f"{int(key[:4]) + shift}{key[4:]}"
    return key


def month_of_day(days: np.ndarray) -> np.ndarray:
    """Month index (0 = START month) of arbitrary day numbers (may lie before START / after END)."""
    days = np.asarray(days, dtype=np.int64)
    base = np.datetime64(START.isoformat(), "D")
    d = (base + days.astype("timedelta64[D]")).astype("datetime64[M]").astype(np.int64)
    return d - np.datetime64(START.isoformat(), "M").astype(np.int64)


def month_bounds(month_idx: int) -> tuple[int, int]:
    """First and last day number of month index."""
    y, m = START.year + month_idx // 12, month_idx % 12 + 1
    first = dt.date(y, m, 1)
    nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
    return (first - START).days, (nxt - START).days - 1


def next_weekday(days: np.ndarray) -> np.ndarray:
    """Shift Saturday/Sunday to the following Monday (banks book on business days)."""
    days = np.asarray(days, dtype=np.int64)
    dow = (days + START.weekday()) % 7
    return days + np.where(dow == 5, 2, np.where(dow == 6, 1, 0))


def weekday_of(days: np.ndarray) -> np.ndarray:
    return (np.asarray(days, dtype=np.int64) + START.weekday()) % 7
