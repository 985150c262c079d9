"""The knowledge base: articles (``KB-12``) in Markdown, their versions and
lifecycle, full-text search, suggestions for a ticket, and citations.

``articles``     writing, editing, publishing and retiring; versions; reads
``use``          which tickets used an article; how often it helped resolve one
``from_ticket``  a draft written from a resolved ticket
``citing``       a reply or note that cites articles
``kb_search``    search ranked by relevance, the list, suggestions for a ticket
``figures``      the knowledge figures of a report
"""
