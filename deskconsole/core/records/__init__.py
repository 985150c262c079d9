"""The work records and every write to them: incidents (tickets), their
lifecycle, links and merges, post-incident reviews, problems, and the records
as plain dataclasses for the read side. Every kind is a row of the one record
base, the ticket table (see ``kinds``).

``kinds``              the kinds of record, as SQL conditions
``lifecycle``          an incident's statuses and the transitions between them
``problem_lifecycle``  a problem's states and their transitions
``validate``        checks on user-supplied values
``text``            ticket text made safe to print on a terminal
``change``          changing one ticket: versioned, field by field
``tickets``         every write to a ticket
``links``           links between tickets, and merging a duplicate
``reviews``         post-incident reviews
``review_actions``  a review's follow-up actions, each a ticket of its own
``problems``        problems: their incidents, known errors and workarounds
``views``           tickets as plain dataclasses (no Peewee object leaves the core)
"""
