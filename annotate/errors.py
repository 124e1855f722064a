"""The handful of domain errors raised inside; mapped to exit codes and messages at the edge."""

from __future__ import annotations


class AnnotateError(Exception):
    """Base class: every domain error has a one-line, user-facing message."""

    exit_code = 2


class InvalidInput(AnnotateError):
    """Bad user input: a malformed file row, an invalid label, a bad schema."""


class NotFound(AnnotateError):
    """An unknown project, item or task."""


class Conflict(AnnotateError):
    """The state changed under the caller: a lost lease, a duplicate name."""


class BudgetExceeded(AnnotateError):
    """The next LLM call would cross the project's budget cap."""


class LLMFailure(AnnotateError):
    """A model call failed after its retries; the raw output is on the ledger."""


class StoreUnavailable(AnnotateError):
    """The database cannot be reached or opened."""


class SetupError(AnnotateError):
    """The installation or configuration stops the work (a missing model package, no API key,
    an unreachable model server); the message names what to install or set."""
