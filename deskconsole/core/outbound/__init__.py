"""What leaves the desk as it changes: the change feed live views read, mail
notices and webhooks queued in the outbox with the change, and the outbox's
drain that hands them to a sender.

``feed``      the change feed, read cheaply (and LISTEN on PostgreSQL)
``notices``   mail to requesters and teams, queued with the change
``webhooks``  JSON posts to team channels, queued with the change
``outbox``    draining the outbox: each queued message handed to a sender once
"""
