"""Errors a user can cause. Each message says what happened and what to do next."""

from __future__ import annotations


class DeskError(Exception):
    """A user-facing error: the message is complete and printable."""

    exit_code = 1


class NotFound(DeskError):
    pass


class ValidationError(DeskError):
    pass


class InvalidTransition(DeskError):
    pass


class NoChange(DeskError):
    """The request would change nothing (e.g. the ticket already has that status)."""


class Conflict(DeskError):
    """Someone else changed the ticket since the caller read it."""

    exit_code = 3

    def __init__(self, message: str, *, key: str, current_version: int, changed_by: str | None = None):
        super().__init__(message)
        self.key = key
        self.current_version = current_version
        self.changed_by = changed_by


class PermissionDenied(DeskError):
    exit_code = 4


class SchemaError(DeskError):
    """The database schema is newer than this program, or not a desk at all."""
