"""A desk's data in bulk, in and out: import and export of tickets, backup and
restore of a whole desk, and the demo desk (built through the import path).

``transfer``         bulk import and export of tickets: CSV and JSON Lines
``backup``           backup and restore of a whole desk
``restore_damaged``  restore onto a SQLite desk too damaged to open
``demo``             a realistic demo desk
"""
