"""The problem lifecycle: states and the transitions between them.

    new -> investigating -> known_error -> resolved -> closed
    known_error -> investigating (the workaround was wrong); resolved -> investigating (it came back)

A problem can be resolved from any open state (the cause went away with a
change) and closed from new (a duplicate or no problem after all). closed
is final. The states share the record base's ``status`` column; ``new``,
``resolved`` and ``closed`` mean what they mean for an incident.
"""

from __future__ import annotations

from deskconsole.errors import InvalidTransition

STATUSES = ("new", "investigating", "known_error", "resolved", "closed")
OPEN = ("new", "investigating", "known_error")
FINAL = ("closed",)

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("investigating", "known_error", "resolved", "closed"),
    "investigating": ("known_error", "resolved"),
    "known_error": ("investigating", "resolved"),
    "resolved": ("investigating", "closed"),
    "closed": (),
}


def normalise_status(value: str) -> str:
    status = value.strip().lower().replace("-", "_").replace(" ", "_")
    if status not in STATUSES:
        raise InvalidTransition(f"{value!r} is not a problem state; use one of {', '.join(STATUSES)}")
    return status
