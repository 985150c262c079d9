"""SLA clocks: one per ticket per metric, kept by every write (not the
calendars and policies they follow: those are ``deskconsole.sla``, below the
core; nor the sweep that moves them on: that is ``core.automation``).

``clocks``         the clock engine: start, pause, re-target, stop, summarise
``sla_history``    clocks rebuilt from their timestamps for tickets that have none
``import_clocks``  the same clocks computed for tickets being imported
"""
