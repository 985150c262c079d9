"""The incident records and every write to them: tickets, their lifecycle,
links and merges, post-incident reviews, and the tickets as plain dataclasses
for the read side.

``lifecycle``       statuses and the transitions between them
``validate``        checks on user-supplied values
``text``            ticket text made safe to print on a terminal
``change``          changing one ticket: versioned, field by field
``tickets``         every write to a ticket
``links``           links between tickets, and merging a duplicate
``reviews``         post-incident reviews
``review_actions``  a review's follow-up actions, each a ticket of its own
``views``           tickets as plain dataclasses (no Peewee object leaves the core)
"""
