"""Which SLA crossings become toasts, and when.

A quiet desk hears every warning and breach at once, one toast per clock.
A busy one (a million tickets, an outage, a loop that was down) would hear
one every sweep, which nobody can read and which keeps the terminal busy
repainting toasts. So: after a toast, crossings for the next ``gap`` seconds
are gathered and told as one digest when the gap is over — at most one SLA
message a minute, however busy the desk. The queue and the timer pane still
show every crossing at once; toasts are the headline, not the record.

No Textual here: the console calls :meth:`SlaToasts.add` with each sweep's
headlines and :meth:`SlaToasts.due` from a timer, and shows what they return.
Time comes from the injected clock (the desk's ``now``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

GAP = 60.0  # seconds between SLA toasts on a busy desk
PER_BURST = 3  # more crossings than this at once make one summary toast


@dataclass(frozen=True)
class Toast:
    title: str
    message: str
    severity: str  # "error" (a breach among them) or "warning"
    timeout: float


def _is_breach(event: str) -> bool:
    return " breached" in event


def _summary(events: list[str], title: str) -> Toast:
    breaches = [e for e in events if _is_breach(e)]
    first = "; ".join(e.split(" ", 1)[0] for e in (breaches or events)[:4])
    return Toast(
        title=title,
        message=f"{len(breaches)} breached, {len(events) - len(breaches)} in warning — first: {first} …"
                " (the queue is sorted by them; / sla:breached to list them)",
        severity="error" if breaches else "warning", timeout=10)


@dataclass
class SlaToasts:
    now: Callable[[], datetime]
    gap: float = GAP
    last: datetime | None = None  # when the last SLA toast went up
    held: dict[int, str] = field(default_factory=dict)  # clock id -> its latest event, waiting for the gap
    held_since: datetime | None = None

    def add(self, latest: dict[int, str]) -> list[Toast]:
        """A sweep's crossings (clock id -> its furthest crossing): the toasts to show now."""
        if not latest:
            return []
        headlines = list(latest.values())
        now = self.now()
        if self.last is not None and (now - self.last).total_seconds() < self.gap:
            if not self.held:
                self.held_since = now
            self.held.update(latest)  # a clock that went on from warning to breach is told once, as breached
            return []
        self.last = now
        if len(headlines) <= PER_BURST:
            return [Toast("SLA", e, "error" if _is_breach(e) else "warning", 8) for e in headlines]
        return [_summary(headlines, f"SLA: {len(headlines)} clocks crossed a threshold")]

    def due(self) -> list[Toast]:
        """The digest of what was held, once the gap since the last toast is over."""
        if not self.held or self.last is None:
            return []
        now = self.now()
        if (now - self.last).total_seconds() < self.gap:
            return []
        events, since = list(self.held.values()), self.held_since
        self.held, self.held_since, self.last = {}, None, now
        if len(events) == 1:
            e = events[0]
            return [Toast("SLA", e, "error" if _is_breach(e) else "warning", 8)]
        return [_summary(events, f"SLA: {len(events)} clocks crossed since {since:%H:%M:%S} UTC")]
