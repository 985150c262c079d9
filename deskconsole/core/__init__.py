"""The desk itself: every rule and every write. Never imports Textual.

Imports run one way (tests/test_layering.py fails on anything else):

1. below the core — ``errors``, ``binding``, ``paths``, ``pgdriver``,
   ``sla`` (calendars and policies), ``config``, ``db``, ``models``,
   ``migrations``: none of them imports the core, not even inside a function;
2. the core — no import circle among its modules (an import inside a
   function counts: it only hides a circle; ``if TYPE_CHECKING:`` imports
   do not, they never run);
3. above it — ``cli``, ``ui``, ``intake``.

Inside the core, too, imports run one way. At its top are the modules every
domain uses (:data:`SHARED`): they import only each other —

``clock``         the injectable "now"
``sql_expr``      SQL expressions that read the same on SQLite and PostgreSQL
``keys``          ticket keys: ``INC-42`` <-> 42
``bulk``          fast multi-row inserts
``hot_reads``     the prepared hot reads
``identity``      who is acting, and with which role
``permissions``   which role may do what
``report_facts``  what the reports count, kept by the write path
``txn``           the one write path: :func:`~deskconsole.core.txn.unit_of_work`

Then the domains (:data:`DOMAINS`), in order: each may import the shared
modules, itself and the domains before it, never one after it —

1. ``access``      the directory (teams, agents, roles), API tokens, PostgreSQL grants
2. ``sla_clocks``  SLA clocks, kept by every write; their history and imported clocks
3. ``outbound``    the change feed, notices and webhooks, the outbox's drain
4. ``records``     tickets and every write to them, links, reviews, the read views
5. ``search``      the query language, the console's queue, take-next
6. ``knowledge``   knowledge articles, their versions, search, suggestions
                   and citations on tickets
7. ``reports``     the figures, the reports and the wallboard's pages
8. ``automation``  the SLA sweep, its escalations, auto-close
9. ``inbound``     alerts and mail into tickets
10. ``desk``       the module that opens a desk (its directory, its clocks
                   from history): everything else names a Desk only for
                   type checkers, so it sits here, after what it opens with
11. ``archive``    import and export, backup and restore, the demo desk

Each domain is a subpackage whose ``__init__`` imports nothing: import its
modules by name (``from deskconsole.core.records import tickets``).
"""

#: The core's top-level modules every domain may import; they import only each other.
SHARED = ("clock", "sql_expr", "keys", "bulk", "hot_reads", "identity", "permissions", "report_facts", "txn")

#: The core's domains in the order they may import each other: each one only
#: the shared modules, itself and those before it. All are subpackages but
#: ``desk``, a top-level module.
DOMAINS = ("access", "sla_clocks", "outbound", "records", "search", "knowledge", "reports", "automation", "inbound",
           "desk", "archive")
