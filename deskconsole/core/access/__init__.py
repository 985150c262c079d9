"""Who may act on the desk: the directory of teams, agents (with their roles),
categories and services; the API tokens programs act with; and the PostgreSQL
grants that mirror the roles on the server.

``directory``  the desk's own directory, seeded from a config and changed by admins
``tokens``     API tokens: which desk identity a program acts as
``pg_grants``  PostgreSQL roles and privileges that mirror the desk's roles
"""
