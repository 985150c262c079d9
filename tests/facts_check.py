"""Are a desk's report facts what a rebuild would make? (see deskconsole.core.report_facts)"""

from __future__ import annotations

from deskconsole.core.report_facts import COUNTERS, FACT_COLUMNS, GROUPS, fact_query, sums
from deskconsole.models import ReportFact, ReportHour, Ticket


def stale_facts(desk) -> list[str]:
    """What the desk's report_fact and report_hour hold that the tickets do
    not say, or the other way round (empty: they agree)."""
    out = []
    with desk.bound():
        kept = ReportFact.select(*(getattr(ReportFact, c) for c in FACT_COLUMNS))
        fresh = fact_query(desk.db, Ticket.select(Ticket.id))
        out += [f"kept, not what the ticket says: {row}" for row in (kept - fresh).tuples()]
        out += [f"the ticket says, not kept: {row}" for row in (fresh - kept).tuples()]
        hours = {}
        for row in ReportHour.select(ReportHour.hour, *(getattr(ReportHour, g) for g in GROUPS),
                                     *(getattr(ReportHour, c) for c in COUNTERS)).tuples():
            if any(row[5:]):
                hours[tuple(row[:5])] = list(row[5:])
        want = {k: v for k, v in sums(desk).items() if any(v)}
        for key in hours.keys() | want.keys():
            if hours.get(key) != want.get(key):
                out.append(f"hour {key}: kept {hours.get(key)}, the facts sum to {want.get(key)}")
    return out
