"""Channels that bring work into the desk: the HTTP alert intake."""
