"""A whole report: the figures overall and per group, SLA compliance by
priority, team and service, the backlog, volumes, the trend and its flags —
and, for every figure, the query that lists the tickets behind it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from deskconsole.binding import on_desk
from deskconsole.errors import ValidationError
from deskconsole.core.search.query import parse, to_peewee
from deskconsole.core.knowledge.figures import KnowledgeFigures, knowledge_figures
from deskconsole.core.reports.change_figures import ChangeFigures, change_figures
from deskconsole.core.records import reviews
from deskconsole.core.reports import hours, kpis, trends
from deskconsole.core.reports.kpis import AGE_BUCKETS, DIMENSIONS, Figures
from deskconsole.core.reports.period import Period, parse_period

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

EPOCH = date(1970, 1, 1)
TREND_DAYS = 62  # a longer period's trend is by week
BREAKDOWNS = ("priority", "team", "service")  # the full report's SLA compliance tables
# the query-language field for when each figure's event happened, and what else it needs
EVENTS = {
    "created": ("created", ""),
    "mtta": ("acked", ""), "mtta_business": ("acked", ""),
    "resolved": ("resolved", "-is:merged"), "mttr": ("resolved", "-is:merged"),
    "mttr_business": ("resolved", "-is:merged"), "reopened": ("resolved", "-is:merged is:reopened"),
    "first_contact": ("resolved", "-is:merged"), "csat": ("resolved", "-is:merged"),
    "breaches": ("breached", ""),
}
CLOCK_COUNTERS = ("response_met", "response_breached", "resolution_met", "resolution_breached")
QUERY_FIELD = {"team": "team", "priority": "prio", "category": "category", "service": "service", "agent": "assignee"}


@dataclass(frozen=True)
class Row:
    """Figures for one group: its name and the query terms that select it."""

    label: str
    term: str  # e.g. team:ops, prio:P1, created:2026-12-01 ("" for everything)
    figures: Figures


@dataclass(frozen=True)
class Count:
    label: str
    term: str
    count: int


@dataclass(frozen=True)
class TrendPoint:
    label: str
    first_day: date
    created: int
    resolved: int
    breaches: int


@dataclass(frozen=True)
class Flag:
    dimension: str
    name: str
    window: str
    count: int
    baseline: float
    tickets: tuple[str, ...]
    query: str

    @property
    def ratio(self) -> float | None:
        return self.count / self.baseline if self.baseline else None


@dataclass(frozen=True)
class Report:
    query: str
    period: Period
    by: str | None
    at: datetime
    total: Figures
    rows: tuple[Row, ...] = ()  # per group, when ``by``
    compliance: tuple[tuple[str, tuple[Row, ...]], ...] = ()  # ("priority", rows), ("team", ...), ("service", ...)
    volume: tuple[tuple[str, tuple[Count, ...]], ...] = ()  # ("category", counts), ("service", counts)
    trend_unit: str = "day"
    trend: tuple[TrendPoint, ...] = ()
    flags: tuple[Flag, ...] = ()
    reviews: tuple[int, int, int] = (0, 0, 0)  # post-incident reviews: due, overdue (now), done in the period
    knowledge: KnowledgeFigures | None = None  # the desk's articles: published, most used in the period
    changes: ChangeFigures | None = None  # changes closed in the period and how they ended; incidents they caused
    read_seconds: float = 0.0

    def behind(self, figure: str, term: str = "") -> str:
        """The query that lists the tickets behind ``figure`` (a key of
        ``EVENTS``, or ``backlog:N`` for the Nth age bucket) for the row
        selected by ``term`` (a :class:`Row`'s)."""
        if figure.startswith("backlog"):
            _, _, n = figure.partition(":")
            return _join(self.query, term, "is:open -is:merged", _age_term(int(n or 0)))
        field, extra = EVENTS[figure]
        if self.by in ("day", "week") and term:
            term = f"{field}:{term.partition(':')[2]}"  # the row's day, on this figure's own clock
            return _join(self.query, term, extra)
        return _join(self.query, term, f"{field}:{self.period.term}", extra)


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def _age_term(n: int) -> str:
    _, older, younger = AGE_BUCKETS[n]
    days = lambda s: f"{s // 86400}d"  # noqa: E731
    if younger is None:
        return f"created:<=-{days(older)}"
    if not older:
        return f"created:>-{days(younger)}"
    return f"created:>-{days(younger)} created:<=-{days(older)}"


def quoted(value: str) -> str:
    if value and all(c.isalnum() or c in "-_.@+/" for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --------------------------------------------------------------------------- names


def _day_of(n: int) -> date:
    return EPOCH + timedelta(days=int(n))


def _monday_of(week: int) -> date:
    return EPOCH + timedelta(days=int(week) * 7 - 3)


def label_and_term(desk: "Desk", by: str, value) -> tuple[str, str]:
    """A group's name and its query term."""
    if by == "day":
        d = _day_of(value)
        return d.isoformat(), f"created:{d.isoformat()}"
    if by == "week":
        monday = _monday_of(value)
        year, week, _ = monday.isocalendar()
        return f"{year}-W{week:02d} ({monday.isoformat()})", f"created:{monday.isoformat()}..{(monday + timedelta(days=6)).isoformat()}"
    if by == "priority":
        return str(value), f"prio:{value}"
    d = desk.directory
    names = {"team": d.team_names, "category": d.category_names, "service": d.service_names, "agent": d.agent_logins}[by]
    if value is None:
        return "(none)", f"{QUERY_FIELD[by]}:none"
    name = names.get(value, f"#{value}")
    return name, f"{QUERY_FIELD[by]}:{quoted(name)}"


def _sort_key(by: str, value, label: str):
    if by in ("day", "week", "priority"):
        return (value is None, str(value) if by == "priority" else value or 0)
    return (value is None, label.lower())


# --------------------------------------------------------------------------- the report


def check_by(by: str | None) -> str | None:
    if by is None:
        return None
    by = by.strip().lower()
    aliases = {"prio": "priority", "assignee": "agent", "weekly": "week", "daily": "day"}
    by = aliases.get(by, by)
    if by not in DIMENSIONS:
        raise ValidationError(f"--by {by!r}: use one of {', '.join(DIMENSIONS)}")
    return by


@on_desk
def build(desk: "Desk", login: str, query: str = "", *, since: str | None = None, by: str | None = None,
          now: datetime | None = None, full: bool = True, hourly: bool = True) -> Report:
    """The report on the tickets ``query`` finds (as ``login`` would list
    them) over the period ``since`` (default: the last 30 days).

    ``full``: also the compliance breakdowns, volumes, trend and flags (the
    report with no ``by``; a report ``by`` a dimension has its rows and total).
    ``hourly``: a report on the whole desk reads the hourly sums (False: the
    tickets, as a report with a query does; the same figures, slower).
    """
    started = time.perf_counter()
    now = now or desk.now()
    tz = desk.config.zone()
    by = check_by(by)
    period = parse_period(since, now, tz)
    text = " ".join(query.split())
    parsed = parse(text)
    if parsed.sort:
        raise ValidationError("a report has no order: leave out the sort: terms")
    base, _ = to_peewee(parsed, desk, actor_login=login, now=now, tz=tz)
    full = full and not by
    unit = "day" if period.days <= TREND_DAYS else "week"
    quick = hourly and hours.serves(desk, base, None, period)  # the whole desk: the hourly sums answer
    sums = hours.read(desk, period) if quick else None
    # every compliance breakdown of a full report, and its trend, in one pass over the clocks
    cube = kpis.compliance_cube(desk, base, period, BREAKDOWNS + (unit,)) if full and not quick else None
    total = _figures(desk, base, period, now, None, sums, kpis.fold(cube, None) if cube is not None else None)[None]
    rows: tuple[Row, ...] = ()
    if by:
        rows = _rows(desk, by, _figures(desk, base, period, now, by, sums))
        if by in ("day", "week"):
            rows = _fill(desk, by, period, rows)
    extra: dict = {}
    if full:
        if quick:
            comp = {dim: {k: tuple(c.values()) for k, c in sums.by(dim, period, CLOCK_COUNTERS).items()}
                    for dim in BREAKDOWNS}
            created = {dim: {k: c["created"] for k, c in sums.by(dim, period, ("created",)).items()}
                       for dim in ("category", "service")}
        else:
            comp = {dim: kpis.fold(cube, i) for i, dim in enumerate(BREAKDOWNS)}
            created = {dim: kpis.created(desk, base, period, dim) for dim in ("category", "service")}
        extra["compliance"] = tuple(
            (dim, _rows(desk, dim, {k: Figures(group=k, response_met=c[0], response_breached=c[1],
                                               resolution_met=c[2], resolution_breached=c[3])
                                    for k, c in comp[dim].items() if any(c)}))
            for dim in BREAKDOWNS)
        extra["volume"] = tuple(
            (dim, tuple(Count(r.label, r.term.replace("created:", ""), r.figures.created)
                        for r in sorted(_rows(desk, dim, {k: Figures(group=k, created=n)
                                                          for k, n in created[dim].items() if n}),
                                        key=lambda r: -r.figures.created)))
            for dim in ("category", "service"))
        extra["trend_unit"] = unit
        extra["trend"] = _trend(desk, base, period, unit, cube, sums)
        daily = hours.daily_created(desk, now, trends.DAYS) if quick else None
        extra["flags"] = tuple(_flag(desk, text, f) for f in trends.flags(desk, base, now, daily=daily))
        extra["reviews"] = reviews.counts(desk, base, period.start, period.end, now)
        extra["knowledge"] = knowledge_figures(desk, period.start, period.end, now)
        extra["changes"] = change_figures(desk, period.start, period.end)
    return Report(query=text, period=period, by=by, at=now, total=total, rows=rows,
                  read_seconds=time.perf_counter() - started, **extra)


def _figures(desk: "Desk", base, period: Period, now: datetime, by: str | None, sums: "hours.Sums | None",
             compliance_read: dict | None = None) -> dict[object, Figures]:
    """The figures per group: from the period's hourly ``sums`` when they can answer, else from the tickets."""
    if sums is not None and hours.serves(desk, base, by, period):
        return hours.figures(desk, period, by, kpis.backlog(desk, base, now, by, period), sums)
    return kpis.figures(desk, base, period, now, by, compliance_read=compliance_read)


def _rows(desk: "Desk", by: str, per_group: dict) -> tuple[Row, ...]:
    rows = []
    for value, figs in per_group.items():
        label, term = label_and_term(desk, by, value)
        rows.append((_sort_key(by, value, label), Row(label, term, figs)))
    return tuple(r for _, r in sorted(rows, key=lambda x: x[0]))


def _numbers(by: str, period: Period) -> list[int]:
    """Every day (or week) number the period touches, in order."""
    first = period.start.astimezone(period.tz).date()
    last = (period.end - timedelta(microseconds=1)).astimezone(period.tz).date()
    days = range((first - EPOCH).days, (last - EPOCH).days + 1)
    if by == "day":
        return list(days)
    return sorted({(n + 3) // 7 for n in days})


def _fill(desk: "Desk", by: str, period: Period, rows: tuple[Row, ...]) -> tuple[Row, ...]:
    """Rows for days (weeks) without events too, so a trend has no holes."""
    have = {r.label: r for r in rows}
    out = []
    for n in _numbers(by, period):
        label, term = label_and_term(desk, by, n)
        out.append(have.get(label) or Row(label, term, Figures(group=n, backlog=())))
    return tuple(out)


def _trend(desk: "Desk", base, period: Period, unit: str, cube, sums) -> tuple[TrendPoint, ...]:
    if sums is not None and hours.whole_hour_days(period):
        per = sums.by(unit, period, ("created", "resolved", "response_breached", "resolution_breached"))
        created = {k: c["created"] for k, c in per.items()}
        resolved = {k: c["resolved"] for k, c in per.items()}
        breaches = {k: c["response_breached"] + c["resolution_breached"] for k, c in per.items()}
    else:
        if cube is None:
            cube = kpis.compliance_cube(desk, base, period, (unit,))
            index = 0
        else:
            index = len(BREAKDOWNS)
        created = kpis.created(desk, base, period, unit)
        resolved = kpis.resolved_count(desk, base, period, unit)
        breaches = {k: c[1] + c[3] for k, c in kpis.fold(cube, index).items()}
    out = []
    for n in _numbers(unit, period):
        label, _ = label_and_term(desk, unit, n)
        first = _day_of(n) if unit == "day" else _monday_of(n)
        out.append(TrendPoint(label.split(" ")[0], first, created.get(n, 0), resolved.get(n, 0), breaches.get(n, 0)))
    return tuple(out)


def _flag(desk: "Desk", text: str, f: trends.TrendFlag) -> Flag:
    names = desk.directory.category_names if f.dimension == "category" else desk.directory.service_names
    name = names.get(f.group, f"#{f.group}")
    window = "1d" if f.window == "day" else "7d"
    query = _join(text, f"{f.dimension}:{quoted(name)}", f"created:>-{window}", "-is:merged")
    return Flag(f.dimension, name, f.window, f.count, f.baseline, f.tickets, query)
