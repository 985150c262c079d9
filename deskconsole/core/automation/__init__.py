"""What the desk does by itself, as ``system`` or the SLA engine: the SLA sweep
that moves clocks past their thresholds, the escalations it runs, and the
auto-close of resolved tickets.

``sweep``       the SLA sweep: record each crossing once, run its escalations once
``escalation``  the actions a policy runs when a clock crosses a threshold
``auto_close``  resolved tickets closing by themselves after some business days
"""
