"""SLA arithmetic: business calendars (pure stdlib; no Textual, no database)."""

from .calendar import Calendar, CalendarError

__all__ = ["Calendar", "CalendarError"]
