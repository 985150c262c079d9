"""Record keys: ``INC-42`` <-> id 42; ``PRB-7`` <-> the 7th problem.

An incident's number is its id, so its key needs no lookup (a million of
them go through an import or an export this way). A record of another kind
has its own number, and :func:`record_id` finds its id through the partial
index on (kind, number).
"""

from __future__ import annotations

import re

from deskconsole.errors import NotFound, ValidationError
from deskconsole.models import KIND_PREFIXES, TICKET_PREFIX, Ticket

_KEY_RE = re.compile(rf"^\s*(?:{TICKET_PREFIX}-|#)?(\d{{1,12}})\s*$", re.IGNORECASE)
_ANY_KEY_RE = re.compile(r"^\s*(?:([A-Za-z]{3})-|#)?(\d{1,12})\s*$")
KIND_OF_PREFIX = {prefix: kind for kind, prefix in KIND_PREFIXES.items()}
KEY_EXAMPLES = ", ".join(f"{prefix}-42" for prefix in KIND_PREFIXES.values())


def ticket_id(key: str | int) -> int:
    """The id of the incident ``key`` (``INC-42``, ``#42`` or ``42``)."""
    if isinstance(key, int):
        return key
    match = _KEY_RE.match(str(key))
    if not match or int(match.group(1)) == 0:
        kind = _prefix_kind(str(key))
        if kind not in (None, "incident"):
            raise ValidationError(f"{str(key).strip().upper()} is a {kind}, not an incident; "
                                  f"'deskconsole show {str(key).strip().upper()}' shows it")
        raise ValidationError(f"{key!r} is not a ticket key; expected {TICKET_PREFIX}-<number>, like {TICKET_PREFIX}-42")
    return int(match.group(1))


def ticket_key(ticket_id: int) -> str:
    """The key of the incident with id ``ticket_id``."""
    return f"{TICKET_PREFIX}-{ticket_id}"


def record_key(kind: str, ticket_id: int, number: int | None) -> str:
    """The key of any record, from its kind, id and number."""
    return ticket_key(ticket_id) if number is None else f"{KIND_PREFIXES[kind]}-{number}"


def _prefix_kind(text: str) -> str | None:
    """The kind a key's prefix names (a bare number: an incident's), or None."""
    match = _ANY_KEY_RE.match(text)
    return _kind_of(match) if match else None


def _kind_of(match: re.Match) -> str | None:
    return KIND_OF_PREFIX.get((match.group(1) or TICKET_PREFIX).upper())


def parse_key(key: str | int) -> tuple[str, int]:
    """(kind, number) of a record key; a bare number or ``#n`` is an incident's."""
    if isinstance(key, int):
        return "incident", key
    match = _ANY_KEY_RE.match(str(key))
    kind = _kind_of(match) if match else None
    if kind is None or int(match.group(2)) == 0:
        raise ValidationError(f"{key!r} is not a ticket key; expected a prefix and a number, like {KEY_EXAMPLES}")
    return kind, int(match.group(2))


def record_id(key: str | int) -> int:
    """The id of the record ``key`` names, of any kind (a problem's is looked
    up; an incident's is its number). NotFound when there is no such record."""
    kind, number = parse_key(key)
    if kind == "incident":
        return number
    found = (Ticket.select(Ticket.id)
             .where((Ticket.kind == kind) & (Ticket.number == number) & Ticket.number.is_null(False)).scalar())
    if found is None:
        raise NotFound(f"{KIND_PREFIXES[kind]}-{number} does not exist; 'deskconsole ls kind:{kind}' lists them")
    return found


def normal_key(text: str) -> str | None:
    """A key as typed (``inc-042``, ``#42``, ``42``, ``prb-3``) written as the
    desk writes it (``INC-42``, ``PRB-3``); None when it is not a key."""
    try:
        kind, number = parse_key(text)
    except ValidationError:
        return None
    return f"{KIND_PREFIXES[kind]}-{number}"
