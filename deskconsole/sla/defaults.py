"""The SLA section new desks start with (``deskconsole init`` and the demo).

Refers only to things every starter config has: priorities P1..P4, the
built-in ``24x7`` calendar and the ``business`` calendar defined here.
Escalations notify "assignee", "team" and "leads" (resolved per ticket), so
the text is valid for any set of teams and agents.
"""

from __future__ import annotations

__all__ = ["DEFAULT_SLA_TOML"]

DEFAULT_SLA_TOML = '''\
# ---------------------------------------------------------------- service levels
# Business calendars: when the clock runs. "24x7" is built in (wall-clock
# time, open all the time) and cannot be redefined.
[calendars.business]
timezone = "UTC"          # set your local zone, e.g. "Europe/London" or "America/New_York"
hours = { mon = ["09:00-17:30"], tue = ["09:00-17:30"], wed = ["09:00-17:30"], thu = ["09:00-17:30"], fri = ["09:00-17:30"] }
# Yearly "MM-DD" or one date "YYYY-MM-DD"; a holiday closes the whole day.
holidays = ["01-01", "12-25", "12-26"]

# SLA policies: the first [[sla.policy]] whose priority/team/service/category
# all match a ticket applies to it (a criterion left out matches anything).
# Targets are durations ("45s", "15m", "4h", "1h30m"; a bare number is
# minutes) of business time on the policy's calendar. Days are not accepted:
# a business day here is 8h30m, so "3 business days" is "25h30m".
[sla]
warn = [50, 75, 90]       # warn when this percent of a target is used up
pause_on = ["pending"]    # statuses that stop the clock while a ticket is in them

[[sla.policy]]
name = "P1 major incident"
priority = "P1"
calendar = "24x7"         # round the clock
first_response = "15m"
resolution = "4h"

[[sla.policy.escalate]]
at = 90                   # 90% of a target used up
notify = ["team", "leads"]

[[sla.policy.escalate]]
at = "breach"             # the deadline has passed
notify = ["leads"]

[[sla.policy]]
name = "P2 high"
priority = "P2"
calendar = "business"
first_response = "30m"
resolution = "8h"

[[sla.policy.escalate]]
at = 75
notify = ["assignee"]

[[sla.policy.escalate]]
at = "breach"
notify = ["team", "leads"]

[[sla.policy]]
name = "P3 normal"
priority = "P3"
calendar = "business"
first_response = "4h"
resolution = "25h30m"     # three business days

[[sla.policy.escalate]]
at = 90
metric = "resolution"
notify = ["assignee"]

[[sla.policy.escalate]]
at = "breach"
notify = ["team"]

# No criteria: everything the policies above did not match (P4, and tickets
# without a priority). Keep the catch-all last; a policy after it never matches.
[[sla.policy]]
name = "P4 low and everything else"
calendar = "business"
first_response = "8h30m"  # one business day
resolution = "42h30m"     # five business days

[[sla.policy.escalate]]
at = "breach"
notify = ["assignee"]

# More options (see the README, "Service levels"):
#   team / service / category = "name" or ["a", "b"]   more criteria
#   resolution = { target = "4h", calendar = "24x7" }   a metric on its own calendar
#   warn = [...], pause_on = [...]                     per-policy overrides ([] = never pause)
#   escalate: metric = "resolution", raise_priority = "P1" or "up",
#             reassign_team = "ops", notify = ["alice", "team:ops", "duty@example.com"]
'''
