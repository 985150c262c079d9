"""SLA clocks for imported tickets, computed from the rows being imported.

An imported ticket gets the clocks :mod:`deskconsole.core.sla_clocks.sla_history` would
rebuild for it from its timestamps (same rules: first response to the first
acknowledgement, reply or resolution, resolution to ``resolved_at``, a
pending ticket paused since its last update, thresholds already passed
marked as crossed), and the ticket's ``sla`` / ``sla_due`` summary with them.
Here they come from the converted rows themselves, before anything is
written: the import's reader process computes them on its own core while
the writer inserts, and the writer never reads a ticket back nor updates
it afterwards.

Values in and out are what the desk stores (fixed-width UTC text on SQLite,
naive UTC datetimes on PostgreSQL), so the rows go to the database as they
are; business time is counted in integer microseconds with the calendar's
own arithmetic. The result must be exactly what ``sla_history.rebuild``
writes for the same tickets, column for column: ``tests/test_transfer.py``
imports varied tickets both ways and compares every clock; a change to the
rules in one module needs the same change in the other.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Sequence

from deskconsole.core.sla_clocks.clocks import SUMMARY_ORDER, amount_for
from deskconsole.errors import ValidationError
from deskconsole.sla.policy import ALWAYS, BREACH, METRICS

US = 1_000_000  # microseconds per second
_EPOCH = datetime(1970, 1, 1)  # naive: stored values are naive UTC (or text of it)
_AWARE_EPOCH = _EPOCH.replace(tzinfo=timezone.utc)
_ONE_US = timedelta(microseconds=1)
_ONE_DAY = timedelta(days=1)
_RANK = {state: i for i, state in enumerate(SUMMARY_ORDER)}  # a ticket's summary is its clocks' worst state
# The ticket columns the clocks depend on (ids for team, service, category).
NEEDS = ("status", "priority", "team", "service", "category", "created_at", "updated_at", "acknowledged_at",
         "first_response_at", "resolved_at")


class _Target:
    """One metric of one policy, with everything its clock rows repeat."""

    __slots__ = ("first_response", "metric", "policy", "calendar", "seconds", "thresholds", "pause_on", "pauses",
                 "steps", "total", "add", "now_total")

    def __init__(self, policy, metric: str, arithmetic):
        target = policy.targets[metric]
        points = policy.thresholds(metric)
        self.first_response = metric == "first_response"
        self.metric, self.policy, self.calendar, self.seconds = metric, policy.name, target.calendar, target.seconds
        self.thresholds = ",".join(str(p) for p in points)
        self.pause_on = ",".join(policy.pause_on)
        self.pauses = frozenset(policy.pause_on)
        # (percent, business seconds that make it), ascending: both grow together
        self.steps = tuple((p, amount_for(SimpleNamespace(target=target.seconds), p)) for p in points)
        self.total, self.add = arithmetic(target.calendar)
        self.now_total: int | None = None  # total(now): where every clock still counting stops (see ImportClocks)


def _arithmetic(cal, always) -> tuple:
    """Business time on ``cal`` in microseconds since the epoch: ``total(u)``,
    the running total of business time (None: the calendar is open all the
    time, and business time is wall-clock time), and ``add(u, seconds)``, the
    deadline: exactly what :meth:`Calendar.between` (``(total(b) - total(a)) //
    US`` for ``b > a``) and :meth:`Calendar.add` answer, without building a
    datetime for every question."""
    if cal is always:
        return None, lambda u, seconds: u + seconds * US
    business = _BusinessTime(cal)
    return business.total, business.add


class _BusinessTime:
    """Business time on a calendar as a running total: ``total(u)`` is the
    business microseconds from a fixed day's start to ``u`` (negative before
    it), so ``between(a, b)`` is ``total(b) - total(a)`` and a deadline is where
    the total reaches ``total(start)`` plus the target.

    An import asks about a few hundred thousand instants, most of them on
    the same few hundred days: each day's start, business intervals and
    running total at its start are worked out once, by the calendar's own
    per-day building blocks (:meth:`Calendar._slot`, ``_day_start``,
    ``_day_intervals``, ``_between_us``), and an instant finds its day
    through the hour it falls in. Sums of the same whole microseconds as
    the calendar's walks, so the answers are the same to the microsecond.
    """

    HOUR = 3600 * US
    WALK = 62  # days a deadline is looked for day by day; further out, the calendar walks

    def __init__(self, cal):
        self.cal = cal
        self.origin: int | None = None  # the start of the first day asked about
        self.days: dict[int, tuple] = {}  # date ordinal -> (total at its start, intervals, its total, start, end, ordinal)
        self.hours: dict[int, tuple] = {}  # hour since the epoch -> the day it lies in wholly

    def day(self, ordinal: int) -> tuple:
        info = self.days.get(ordinal)
        if info is None:
            cal = self.cal
            day = date.fromordinal(ordinal)
            start, end = cal._day_start(day), cal._day_start(day + _ONE_DAY)
            if self.origin is None:
                self.origin = start
            origin = self.origin
            before = (cal._between_us(origin, start) if start > origin else
                      -cal._between_us(start, origin) if start < origin else 0)
            intervals = cal._day_intervals(day)
            info = self.days[ordinal] = (before, intervals, sum(e - s for s, e in intervals), start, end, ordinal)
        return info

    def slot(self, u: int) -> tuple:
        """The day (see :meth:`day`) whose slot [start, next start) holds ``u``."""
        hour = u // self.HOUR
        info = self.hours.get(hour)
        if info is None:
            info = self.day(self.cal._slot(u).toordinal())
            if info[3] <= hour * self.HOUR and (hour + 1) * self.HOUR <= info[4]:  # the whole hour is in that day
                self.hours[hour] = info
        return info

    def total(self, u: int) -> int:
        info = self.hours.get(u // self.HOUR) or self.slot(u)
        done = info[0]
        for s, e in info[1]:
            if u <= s:
                break
            done += (e if e < u else u) - s
        return done

    def add(self, u: int, seconds: int) -> int:
        if not seconds:
            return u
        info = self.slot(u)
        goal = self.total(u) + seconds * US
        for _ in range(self.WALK):
            before, intervals, length = info[0], info[1], info[2]
            if before + length >= goal:  # the goal is reached on this day: in the first interval that reaches it
                for s, e in intervals:
                    if before + (e - s) >= goal:
                        return s + (goal - before)
                    before += e - s
            info = self.day(info[5] + 1)
        return self.cal._add_us(u, seconds * US)


class ImportClocks:
    """Plans the clocks of converted ticket rows (picklable inputs, no database)."""

    def __init__(self, sla, directory, now: datetime, sqlite: bool, columns: Sequence[str]):
        self.sla = sla
        self.names = (directory.team_names, directory.service_names, directory.category_names)
        self.sqlite = sqlite
        self.now_us = (now - _AWARE_EPOCH) // _ONE_US
        self.now_stored = self.stored(self.now_us)
        self.at = tuple(columns.index(name) for name in NEEDS)
        self.sla_at, self.sla_due_at = columns.index("sla"), columns.index("sla_due")
        self._targets: dict[tuple, tuple[_Target, ...]] = {}  # (priority, team, service, category) -> targets
        self._policies: dict[str, tuple[_Target, ...]] = {}  # policy name -> its targets
        self._calendars: dict[str, tuple] = {}  # calendar name -> (between, add)

    def arithmetic(self, calendar: str) -> tuple:
        found = self._calendars.get(calendar)
        if found is None:
            found = self._calendars[calendar] = _arithmetic(self.sla.calendar(calendar), self.sla.calendars.get(ALWAYS))
        return found

    def stored(self, us: int):
        """What the desk stores for the instant ``us``."""
        value = _EPOCH + timedelta(microseconds=us)
        return value.isoformat(" ", "microseconds") if self.sqlite else value

    def targets(self, priority, team, service, category) -> tuple[_Target, ...]:
        """The clocks a ticket gets: its first matching policy's targets (none without one)."""
        key = (priority, team, service, category)
        found = self._targets.get(key)
        if found is None:
            teams, services, categories = self.names
            policy = self.sla.match(priority, teams.get(team), services.get(service), categories.get(category))
            if policy is None:
                found = ()
            elif policy.name in self._policies:
                found = self._policies[policy.name]
            else:
                found = self._policies[policy.name] = tuple(
                    _Target(policy, m, self.arithmetic) for m in METRICS if m in policy.targets)
            self._targets[key] = found
        return found

    def plan(self, rows: list[list], merged: Sequence) -> list[list[list] | None]:
        """Fill in each row's ``sla`` and ``sla_due``; return each row's clock
        rows (``sla_history.COLUMNS`` order, the ticket id left None), or None."""
        if not self.sla.policies:
            return [None] * len(rows)
        try:
            return self._plan(rows, merged)
        except OverflowError:
            raise ValidationError("an SLA deadline of this ticket falls outside the supported date range") from None

    def _plan(self, rows: list[list], merged: Sequence) -> list[list[list] | None]:
        sqlite, now_us, now_stored, stored = self.sqlite, self.now_us, self.now_stored, self.stored
        parse = datetime.fromisoformat
        epoch, one_us = _EPOCH, _ONE_US
        i_status, i_priority, i_team, i_service, i_category, i_created, i_updated, i_acked, i_responded, i_resolved = self.at
        sla_at, sla_due_at = self.sla_at, self.sla_due_at
        targets, known, rank, order = self.targets, self._targets, _RANK, SUMMARY_ORDER
        out: list[list[list] | None] = []
        for values, merged_into in zip(rows, merged):
            key = (values[i_priority], values[i_team], values[i_service], values[i_category])
            found = known.get(key)
            if found is None:
                found = targets(*key)
            if not found:
                out.append(None)
                continue
            status = values[i_status]
            created, resolved = values[i_created], values[i_resolved]
            created_us = ((parse(created) if sqlite else created) - epoch) // one_us
            cancelled = status == "cancelled" or merged_into is not None
            clocks, worst, due, total_of, created_total = [], None, None, None, 0
            for t in found:
                end = resolved
                if t.first_response:  # the first of acknowledged, first response, resolved
                    for stop in (values[i_acked], values[i_responded]):
                        if stop is not None and (end is None or stop < end):  # stored values sort as instants do
                            end = stop
                counted_to = paused_since = stopped_at = None
                if end is not None:
                    stopped_at = end
                elif cancelled or status == "closed":
                    stopped_at = values[i_updated]
                elif status in t.pauses:
                    paused_since = values[i_updated]
                else:
                    counted_to = now_stored
                if counted_to is not None:
                    last = now_us
                else:
                    last = stopped_at or paused_since
                    last = ((parse(last) if sqlite else last) - epoch) // one_us
                # Business seconds used: [created, last) on the target's calendar.
                if last <= created_us:
                    elapsed = 0
                elif t.total is None:
                    elapsed = (last - created_us) // US
                else:
                    if t.total is not total_of:
                        total_of, created_total = t.total, t.total(created_us)
                    if counted_to is None:
                        elapsed = (t.total(last) - created_total) // US
                    else:  # counting until now: the same total for every ticket
                        if t.now_total is None:
                            t.now_total = t.total(now_us)
                        elapsed = (t.now_total - created_total) // US
                # The verdict (sla_history._verdict): thresholds passed, breached or not.
                crossed = 0
                for pct, amount in t.steps:
                    if elapsed < amount:
                        break
                    crossed = pct
                breached_us = None
                if elapsed >= t.seconds:  # no pauses are known: the deadline is the target after creation
                    deadline = t.add(created_us, t.seconds)
                    if elapsed > t.seconds or last > deadline:
                        breached_us = deadline
                if breached_us is not None:
                    crossed, state = BREACH, "breached"
                elif stopped_at is not None:
                    state = "cancelled" if cancelled and end is None else "met"
                else:
                    state = "paused" if paused_since is not None else "running"
                # The schedule (clocks.schedule): deadline and next warning of a counting clock.
                due_us = breached_us
                warn_at = warn_pct = None
                if counted_to is not None:
                    if breached_us is None:
                        need = t.seconds - elapsed
                        due_us = now_us if need <= 0 else t.add(now_us, need)
                        for pct, amount in t.steps:
                            if pct > crossed:
                                need = amount - elapsed
                                warn_at, warn_pct = stored(now_us if need <= 0 else t.add(now_us, need)), pct
                                break
                    # The ticket's summary (clocks.summary): worst state, soonest deadline.
                    if due is None or due_us < due:
                        due = due_us
                    if state == "running":
                        state_now = ("breached" if due_us < now_us else
                                     "warning" if 0 < crossed < BREACH else "ok")  # effective_state, is_warning
                        worst = rank[state_now] if worst is None or rank[state_now] < worst else worst
                if state != "running" and state in rank and (worst is None or rank[state] < worst):
                    worst = rank[state]
                due_at = None if due_us is None else stored(due_us)
                clocks.append([
                    None, t.metric, t.policy, t.calendar, t.seconds, t.thresholds, t.pause_on, state, created,
                    counted_to, elapsed, 0, paused_since, due_at, warn_at, warn_pct, crossed,
                    due_at if breached_us is not None else None, stopped_at,
                ])
            values[sla_at] = None if worst is None else order[worst]
            values[sla_due_at] = None if due is None else stored(due)
            out.append(clocks)
        return out
