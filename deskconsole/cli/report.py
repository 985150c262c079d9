"""``deskconsole report [QUERY] [--since 30d] [--by DIM] [--format table|json|csv]``."""

from __future__ import annotations

import csv
import sys
from dataclasses import asdict

from deskconsole.cli.context import Context
from deskconsole.cli.output import dumps, escaped, table
from deskconsole.core.reports import text as rt
from deskconsole.core.reports.kpis import AGE_BUCKETS, DIMENSIONS, Durations, Figures
from deskconsole.core.reports.report import Report, build

HELP = "figures over a query and a period: MTTA, MTTR, SLA compliance, backlog, reopens, CSAT, trends"
EPILOG = """\
periods: 30d (default), 12w, 48h, 2026-11-01 (to now), 2026-11-01..2026-11-30 (whole days, desk time zone)
every figure's tickets: the query printed beside it, e.g. deskconsole ls 'resolved:>=-30d -is:merged'
definitions of every figure: the README, "Reports: what each figure means"
"""


def add_commands(command, desk_options) -> None:
    import argparse

    p = command("report", cmd_report, HELP, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("query", nargs="*", help="which tickets (the query language of ls; default: all)")
    p.add_argument("--since", metavar="PERIOD", help="the period (default 30d); see below")
    p.add_argument("--by", metavar="DIM", help=f"one row per {', '.join(DIMENSIONS)}")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")


def cmd_report(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    report = build(desk, actor.login, " ".join(args.query), since=args.since, by=args.by)
    if args.format == "json":
        print(dumps(as_json(report)))
    elif args.format == "csv":
        write_csv(report, sys.stdout)
    else:
        print_table(report, sys.stdout)
    return 0


# --------------------------------------------------------------------------- table


def print_table(r: Report, out) -> None:
    p = r.period
    scope = escaped(r.query) if r.query else "all tickets"
    zone = getattr(p.tz, "key", "UTC")
    out.write(f"Report: {scope} · {p.label} ({_local(p.start, p.tz)} .. {_local(p.end, p.tz)} {zone})"
              f" · read in {r.read_seconds * 1000:.0f} ms\n\n")
    if r.by:
        rows = [[escaped(row.label)] + [fn(row.figures) for _, fn, _ in rt.COLUMNS] for row in r.rows]
        rows.append(["all"] + [fn(r.total) for _, fn, _ in rt.COLUMNS])
        table(rows, [r.by] + [h for h, _, _ in rt.COLUMNS], flex=0, out=out)
        out.write(f"\ntickets behind a row: deskconsole ls '{escaped(r.behind('created', r.rows[0].term) if r.rows else r.behind('created'))}'"
                  f" (created), or resolved:/acked:/breached: for the other figures\n")
        return
    for label, value, figure in rt.summary(r.total):
        out.write(f"{label:<26}{value}\n")
    due, overdue, done = r.reviews
    out.write(f"{'Post-incident reviews':<26}{due:,} due, {overdue:,} overdue, {done:,} done in the period"
              f"  (deskconsole reviews)\n")
    if r.knowledge is not None:
        k = r.knowledge
        out.write(f"{'Knowledge':<26}{k.published:,} articles published ({k.published_in_period:,} in the period),"
                  f" {k.drafts:,} drafts, {k.review_due:,} due for review  (deskconsole kb ls)\n")
        for a in k.top:
            out.write(f"{'':<26}{a.key} used to resolve {a.used:,}: {escaped(a.title)}\n")
    if r.changes is not None:
        out.write(f"{'Changes':<26}{rt.change_line(r.changes)}  (deskconsole change ls --all)\n")
    out.write(f"\n  the tickets behind a figure: deskconsole ls '{escaped(r.behind('mttr'))}' (MTTR, reopens, FCR, CSAT);\n"
              f"  '{escaped(r.behind('mtta'))}' (MTTA); '{escaped(r.behind('breaches'))}' (breaches)\n")
    for dim, rows in r.compliance:
        if not rows:
            continue
        out.write(f"\nSLA compliance by {dim}\n")
        table([[escaped(x.label), _met(x.figures, "first_response"), _met(x.figures, "resolution")] for x in rows],
              [dim, "first response", "resolution"], flex=0, out=out)
    for dim, counts in r.volume:
        if not counts:
            continue
        out.write(f"\nCreated by {dim}\n")
        table([[escaped(c.label), f"{c.count:,}"] for c in counts], [dim, "tickets"], flex=0, out=out)
    if r.trend:
        out.write(f"\nTrend per {r.trend_unit}\n")
        peak = max((t.created for t in r.trend), default=0) or 1
        table([[t.label, f"{t.created:,}", f"{t.resolved:,}", f"{t.breaches:,}", "#" * round(20 * t.created / peak)]
               for t in r.trend], [r.trend_unit, "created", "resolved", "breaches", ""], flex=4, out=out)
    out.write("\nTrend flags (a category or service well above its own 4-week baseline)\n")
    if not r.flags:
        out.write("  none\n")
    for f in r.flags:
        ratio = f"{f.ratio:.1f}x" if f.ratio else "new"
        out.write(f"  {f.dimension} {escaped(f.name)}: {f.count:,} in the last {f.window}, baseline {f.baseline:g}"
                  f" ({ratio})  deskconsole ls '{escaped(f.query)}'\n")
        out.write(f"    {' '.join(f.tickets)}\n")


def _met(f: Figures, metric: str) -> str:
    met, breached = f.clocks(metric)
    return f"{rt.pct(f.compliance(metric))} ({met:,}/{met + breached:,})" if met + breached else rt.DASH


def _local(at, tz) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


# --------------------------------------------------------------------------- json / csv


def _durations(d: Durations) -> dict:
    r = lambda v: None if v is None else round(v, 1)  # noqa: E731
    return {"count": d.count, "mean": r(d.mean), "median": r(d.median), "p90": r(d.p90)}


def _rate(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


def figures_json(f: Figures) -> dict:
    out = {
        "created": f.created, "resolved": f.resolved,
        "mtta": _durations(f.mtta), "mtta_business": _durations(f.mtta_business),
        "mttr": _durations(f.mttr), "mttr_business": _durations(f.mttr_business),
        "sla": {
            "first_response": {"met": f.response_met, "breached": f.response_breached,
                               "compliance": _rate(f.compliance("first_response"))},
            "resolution": {"met": f.resolution_met, "breached": f.resolution_breached,
                           "compliance": _rate(f.compliance("resolution"))},
        },
        "breaches": f.breaches,
        "reopened": f.reopened, "reopen_rate": _rate(f.reopen_rate),
        "first_contact": f.first_contact, "first_contact_rate": _rate(f.first_contact_rate),
        "reassignments": f.reassignments, "reassignments_per_ticket": _rate(f.reassignments_per_ticket),
        "ping_pong": f.ping_pong,
        "csat": {"average": _rate(f.csat), "ratings": f.rated, "rateable": f.rateable, "response_rate": _rate(f.response_rate)},
    }
    if f.backlog:
        out["backlog"] = {label: n for (label, _, _), n in zip(AGE_BUCKETS, f.backlog)}
    return out


def as_json(r: Report) -> dict:
    p = r.period
    figures = ("created", "resolved", "mtta", "mttr", "breaches", "reopened", "first_contact", "csat")
    return {
        "query": r.query, "by": r.by, "at": r.at,
        "period": {"start": p.start, "end": p.end, "label": p.label, "timezone": getattr(p.tz, "key", "UTC")},
        "read_ms": round(r.read_seconds * 1000, 1),
        "total": {**figures_json(r.total), "behind": {name: r.behind(name) for name in figures}},
        "rows": [{"group": row.label, "query": r.behind("created", row.term), **figures_json(row.figures)}
                 for row in r.rows],
        "compliance": {dim: [{"group": x.label, **figures_json(x.figures)["sla"]} for x in rows]
                       for dim, rows in r.compliance},
        "backlog_queries": {label: r.behind(f"backlog:{i}") for i, (label, _, _) in enumerate(AGE_BUCKETS)},
        "volume": {dim: [{"group": c.label, "created": c.count, "query": r.behind("created", c.term)} for c in counts]
                   for dim, counts in r.volume},
        "trend": {"unit": r.trend_unit, "points": [
            {"label": t.label, "first_day": t.first_day.isoformat(), "created": t.created, "resolved": t.resolved,
             "breaches": t.breaches} for t in r.trend]},
        "reviews": dict(zip(("due", "overdue", "done"), r.reviews)),
        "knowledge": None if r.knowledge is None else {
            "published": r.knowledge.published, "published_in_period": r.knowledge.published_in_period,
            "drafts": r.knowledge.drafts, "review_due": r.knowledge.review_due,
            "top": [{"key": a.key, "title": a.title, "used": a.used} for a in r.knowledge.top]},
        "changes": None if r.changes is None else {
            **asdict(r.changes), "success_rate": _rate(r.changes.success_rate)},
        "flags": [{"dimension": f.dimension, "name": f.name, "window": f.window, "count": f.count,
                   "baseline": f.baseline, "ratio": _rate(f.ratio), "tickets": list(f.tickets), "query": f.query}
                  for f in r.flags],
    }


def _flat(prefix: str, value, out: dict) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}_{k}" if prefix else k, v, out)
    else:
        out[prefix] = value


def write_csv(r: Report, out) -> None:
    """The figures table: one row per group (``--by``), then the total."""
    rows = [(row.label, row.figures) for row in r.rows] + [("all", r.total)]
    flat = []
    for label, figs in rows:
        d: dict = {"group": label}
        _flat("", figures_json(figs), d)
        flat.append(d)
    headers = list(dict.fromkeys(k for d in flat for k in d))
    w = csv.DictWriter(out, fieldnames=headers, lineterminator="\n")
    w.writeheader()
    w.writerows(flat)
