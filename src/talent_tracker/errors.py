"""Errors that are the user's to fix: shown as one line, never as a traceback."""


class UserError(Exception):
    """A wrong argument, a missing or malformed input: the message says which and why."""
