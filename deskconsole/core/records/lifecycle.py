"""The incident lifecycle: statuses and the transitions between them.

    new -> assigned -> in_progress <-> pending -> resolved -> closed
    resolved -> in_progress (reopen); any open status -> cancelled (leads)

A ticket can also be resolved straight from new/assigned/in_progress/pending
(a quick fix) and handed back (in_progress -> assigned). Unassigning a
ticket (``assign ... none``) puts it back to new. closed and cancelled are
final.
"""

from __future__ import annotations

from deskconsole.errors import InvalidTransition

STATUSES = ("new", "assigned", "in_progress", "pending", "resolved", "closed", "cancelled")
OPEN = ("new", "assigned", "in_progress", "pending")
FINAL = ("closed", "cancelled")

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("assigned", "in_progress", "resolved", "cancelled"),
    "assigned": ("in_progress", "pending", "resolved", "cancelled"),
    "in_progress": ("assigned", "pending", "resolved", "cancelled"),
    "pending": ("in_progress", "resolved", "cancelled"),
    "resolved": ("in_progress", "closed"),
    "closed": (),
    "cancelled": (),
}

# Statuses that only make sense with someone holding the ticket.
NEEDS_ASSIGNEE = ("assigned", "in_progress", "pending")


def normalise_status(value: str) -> str:
    status = value.strip().lower().replace("-", "_").replace(" ", "_")
    if status not in STATUSES:
        raise InvalidTransition(f"{value!r} is not a status; use one of {', '.join(STATUSES)}")
    return status


def check_transition(key: str, current: str, target: str) -> None:
    if target == current:
        from deskconsole.errors import NoChange

        raise NoChange(f"{key} is already {current}")
    allowed = TRANSITIONS[current]
    if target in allowed:
        return
    if not allowed:
        raise InvalidTransition(f"{key} is {current}, which is final; it cannot become {target}")
    raise InvalidTransition(
        f"{key} cannot go from {current} to {target}; from {current} it can go to: {', '.join(allowed)}"
    )
