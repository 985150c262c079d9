"""A report's figures as short text, the same on the command line and in the console."""

from __future__ import annotations

from typing import Callable

from deskconsole.core.reports.kpis import AGE_BUCKETS, Durations, Figures

DASH = "—"


def span(seconds: float | None) -> str:
    """``45s``, ``12m``, ``3h 10m``, ``2d 4h``; a dash for no value."""
    if seconds is None:
        return DASH
    a = int(round(seconds))
    if a < 60:
        return f"{a}s"
    if a < 3600:
        return f"{a // 60}m"
    if a < 86400:
        return f"{a // 3600}h {a % 3600 // 60:02d}m"
    return f"{a // 86400}d {a % 86400 // 3600:02d}h"


def pct(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:.1f}%"


def stats(d: Durations) -> str:
    if not d.count:
        return "none"
    return f"mean {span(d.mean)}  median {span(d.median)}  p90 {span(d.p90)}  ({d.count:,})"


def summary(f: Figures) -> list[tuple[str, str, str]]:
    """(label, text, figure) lines of the headline figures; ``figure`` names
    what lists the tickets behind the line (see ``Report.behind``)."""
    lines = [
        ("Created", f"{f.created:,}", "created"),
        ("Resolved", f"{f.resolved:,}", "resolved"),
        ("MTTA", stats(f.mtta), "mtta"),
        ("MTTA business", stats(f.mtta_business), "mtta_business"),
        ("MTTR", stats(f.mttr), "mttr"),
        ("MTTR business", stats(f.mttr_business), "mttr_business"),
        ("SLA first response", _compliance(f, "first_response"), "breaches"),
        ("SLA resolution", _compliance(f, "resolution"), "breaches"),
        ("Breaches", f"{f.breaches:,}", "breaches"),
        ("Reopen rate", f"{pct(f.reopen_rate)}  ({f.reopened:,} of {f.resolved:,})", "reopened"),
        ("First-contact resolution", f"{pct(f.first_contact_rate)}  ({f.first_contact:,} of {f.resolved:,})",
         "first_contact"),
        ("Reassignments", f"{_ratio(f.reassignments_per_ticket)} per ticket  ({f.reassignments:,} hand-offs; "
                          f"{f.ping_pong:,} ping-pong)", "resolved"),
        ("CSAT", _csat(f), "csat"),
    ]
    if f.backlog:
        buckets = "  ".join(f"{label} {n:,}" for (label, _, _), n in zip(AGE_BUCKETS, f.backlog))
        lines.append(("Backlog (open now)", f"{f.backlog_total:,}:  {buckets}", "backlog"))
    return lines


def _compliance(f: Figures, metric: str) -> str:
    met, breached = f.clocks(metric)
    return f"{pct(f.compliance(metric))}  ({met:,} met, {breached:,} breached)"


def _ratio(x: float | None) -> str:
    return DASH if x is None else f"{x:.2f}"


def _csat(f: Figures) -> str:
    if not f.rated:
        return f"{DASH}  (no ratings; {f.rateable:,} with a requester address)"
    return f"{f.csat:.2f} / 5  ({f.rated:,} rated, {pct(f.response_rate)} of {f.rateable:,} with an address)"


# one column of a per-group table: header, text, the figure behind it
COLUMNS: tuple[tuple[str, Callable[[Figures], str], str], ...] = (
    ("created", lambda f: f"{f.created:,}", "created"),
    ("resolved", lambda f: f"{f.resolved:,}", "resolved"),
    ("MTTA med", lambda f: span(f.mtta.median), "mtta"),
    ("MTTR med", lambda f: span(f.mttr.median), "mttr"),
    ("MTTR p90", lambda f: span(f.mttr.p90), "mttr"),
    ("resp SLA", lambda f: pct(f.compliance("first_response")), "breaches"),
    ("res SLA", lambda f: pct(f.compliance("resolution")), "breaches"),
    ("breaches", lambda f: f"{f.breaches:,}", "breaches"),
    ("reopen", lambda f: pct(f.reopen_rate), "reopened"),
    ("FCR", lambda f: pct(f.first_contact_rate), "first_contact"),
    ("CSAT", lambda f: DASH if f.csat is None else f"{f.csat:.2f}", "csat"),
    ("backlog", lambda f: f"{f.backlog_total:,}" if f.backlog else DASH, "backlog"),
)


def change_line(c) -> str:
    """The changes of a report (:class:`~deskconsole.core.reports.change_figures.ChangeFigures`) in one line."""
    ended = f"{c.successful:,} successful, {c.failed:,} failed, {c.backed_out:,} backed out"
    return (f"success rate {pct(c.success_rate)} of {c.closed:,} closed ({ended}); {c.raised:,} raised "
            f"({c.emergency:,} emergency); {c.caused_incidents:,} incidents caused by {c.causing_changes:,} changes")
