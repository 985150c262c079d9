"""Reports: the desk's figures (MTTA, MTTR, SLA compliance, backlog, reopen
rate, first-contact resolution, reassignments, CSAT, volumes, trends) over
any query and period, computed in SQL — a report reads aggregates, never
the tickets behind them.

``period``  which instants a report covers, and the desk's days and weeks in it
``kpis``    the figures, overall or per group (team, priority, ..., day, week)
``trends``  categories and services running well above their own baseline
``report``  the whole report as one plain dataclass, and what lies behind each figure
``board``   the wallboard's pages and their figures (a report page among them)

Every definition is in the README ("Reports: what each figure means").
"""
