"""Finding tickets: the desk's query language, the queue as the console pages
it, and take-next (claiming the most urgent unassigned ticket).

``query``  the query language -> Peewee expressions
``queue``  one page of a query at a time, as the console reads it
``claim``  take next: claim the most urgent unassigned open ticket
``words``  search words quoted for the text indexes (tickets and articles)
"""
