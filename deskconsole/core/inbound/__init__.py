"""What comes into the desk from outside and becomes tickets: alerts from
monitoring tools and mail from requesters (the listeners that take them in
are ``deskconsole.intake``, above the core).

``alert_payloads``  what monitoring tools send, as AlertEvent values
``alert_routes``    where an alert goes: the config's ``[intake]`` section
``alerts``          alerts into tickets: one open ticket per monitored condition
``mail_in``         a message from a requester opens a ticket or joins one
"""
