"""Ticket keys: ``INC-42`` <-> id 42."""

from __future__ import annotations

import re

from deskconsole.errors import ValidationError
from deskconsole.models import TICKET_PREFIX

_KEY_RE = re.compile(rf"^\s*(?:{TICKET_PREFIX}-|#)?(\d{{1,12}})\s*$", re.IGNORECASE)


def ticket_id(key: str | int) -> int:
    if isinstance(key, int):
        return key
    match = _KEY_RE.match(str(key))
    if not match or int(match.group(1)) == 0:
        raise ValidationError(f"{key!r} is not a ticket key; expected {TICKET_PREFIX}-<number>, like {TICKET_PREFIX}-42")
    return int(match.group(1))


def ticket_key(ticket_id: int) -> str:
    return f"{TICKET_PREFIX}-{ticket_id}"
