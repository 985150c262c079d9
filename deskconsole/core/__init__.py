"""The desk itself: every rule and every write. Never imports Textual.

Imports run one way (tests/test_layering.py fails on anything else):

1. below the core — ``errors``, ``binding``, ``paths``, ``pgdriver``,
   ``sla`` (calendars and policies), ``config``, ``db``, ``models``,
   ``migrations``: none of them imports the core, not even inside a function;
2. the core — no import circle among its modules (an import inside a
   function counts: it only hides a circle; ``if TYPE_CHECKING:`` imports
   do not, they never run);
3. above it — ``cli``, ``ui``, ``intake``.
"""
