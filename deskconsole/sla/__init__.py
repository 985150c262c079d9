"""SLA arithmetic and configuration: business calendars and SLA policies
(pure stdlib; no Textual, no database)."""

from .calendar import Calendar, CalendarError
from .defaults import DEFAULT_SLA_TOML
from .policy import (
    BREACH,
    DEFAULT_PAUSE_ON,
    DEFAULT_WARN,
    METRICS,
    Escalation,
    Policy,
    PolicyError,
    SlaConfig,
    Target,
    format_duration,
    parse_duration,
    parse_sla,
)

__all__ = [
    "Calendar", "CalendarError", "DEFAULT_SLA_TOML", "BREACH", "DEFAULT_PAUSE_ON", "DEFAULT_WARN", "METRICS",
    "Escalation", "Policy", "PolicyError", "SlaConfig", "Target", "format_duration", "parse_duration", "parse_sla",
]
