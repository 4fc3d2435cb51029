"""Errors a user can act on; the console prints them as one line (console/main.py)."""


class NotFound(LookupError):
    """An unknown run, artifact or output: exit status 1."""


class StoreError(RuntimeError):
    """The MLMD store is missing, corrupt, locked or unreachable; the message names the store:
    exit status 2."""
