"""The change lifecycle: states, the moves between them and which type may make each.

    draft -> assessment -> awaiting_approval -> scheduled -> implementing -> review -> closed
    any state before implementing -> cancelled

- A **normal** change needs its approvals (the desk's change policy names
  them) before it may be scheduled: the last approval schedules it. A
  rejection sends it back to draft, and the next submission asks again.
- A **standard** change is pre-approved (it comes from a template): draft
  goes straight to scheduled.
- An **emergency** change may go to implementing from draft or assessment,
  and gets its approvals after; it cannot be closed until it has them.

``closed`` carries its outcome (successful, failed, backed_out). ``closed``
and ``cancelled`` are final. The states share the record base's ``status``.
"""

from __future__ import annotations

from deskconsole.errors import InvalidTransition

STATUSES = ("draft", "assessment", "awaiting_approval", "scheduled", "implementing", "review", "closed", "cancelled")
OPEN = STATUSES[:6]
FINAL = ("closed", "cancelled")
OUTCOMES = ("successful", "failed", "backed_out")
# What a change is doing to its window: planned (in the calendar) or under way.
PLANNED = ("awaiting_approval", "scheduled", "implementing", "review")

_ALL = {
    "draft": ("assessment", "cancelled"),
    "assessment": ("draft", "awaiting_approval", "cancelled"),
    "awaiting_approval": ("draft", "scheduled", "cancelled"),
    "scheduled": ("assessment", "implementing", "cancelled"),
    "implementing": ("review",),
    "review": ("closed",),
    "closed": (),
    "cancelled": (),
}
_EXTRA = {  # type -> the moves only that type may make
    "standard": {"draft": ("scheduled",), "assessment": ("scheduled",)},
    "emergency": {"draft": ("implementing",), "assessment": ("implementing",),
                  "awaiting_approval": ("implementing",)},
}
_NOT = {  # type -> moves the general table has that this type may not make
    "standard": {"assessment": ("awaiting_approval",)},
}


def moves(change_type: str, status: str) -> tuple[str, ...]:
    """Where a change of ``change_type`` may go from ``status``."""
    out = list(_ALL[status]) + list(_EXTRA.get(change_type, {}).get(status, ()))
    barred = _NOT.get(change_type, {}).get(status, ())
    return tuple(s for s in dict.fromkeys(out) if s not in barred)


def normalise_status(value: str) -> str:
    status = value.strip().lower().replace("-", "_").replace(" ", "_")
    status = {"awaiting": "awaiting_approval", "approval": "awaiting_approval", "implement": "implementing",
              "submit": "assessment", "assess": "assessment", "schedule": "scheduled", "cancel": "cancelled",
              "close": "closed", "start": "implementing"}.get(status, status)
    if status not in STATUSES:
        raise InvalidTransition(f"{value!r} is not a change state; use one of {', '.join(STATUSES)}")
    return status


def normalise_outcome(value: str) -> str:
    outcome = value.strip().lower().replace("-", "_").replace(" ", "_")
    outcome = {"success": "successful", "ok": "successful", "fail": "failed", "backout": "backed_out",
               "rolled_back": "backed_out", "rollback": "backed_out"}.get(outcome, outcome)
    if outcome not in OUTCOMES:
        raise InvalidTransition(f"{value!r} is not how a change ends; use one of {', '.join(OUTCOMES)}")
    return outcome
