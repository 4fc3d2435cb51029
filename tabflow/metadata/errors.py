"""The two errors a reader of the store reports to a user, each as one line."""


class NotFound(LookupError):
    """A run, artifact or output the user named is not in the store (exit status 1)."""


class StoreError(RuntimeError):
    """The store itself cannot be read: missing, corrupt, locked or unreachable (exit status 2).

    The message names the store (its SQLite path or mysql://host:port/database).
    """
