"""Domain errors raised by services; views turn them into a clear message (never a 500)."""


class DomainError(Exception):
    """A refused action, with a message a user can act on."""

    def __init__(self, message, *, field: str | None = None):
        self.message = message
        self.field = field
        super().__init__(str(message))


class ConflictError(DomainError):
    """Someone else saved the record after it was opened (optimistic locking)."""

    def __init__(self, message, *, current=None):
        self.current = current
        super().__init__(message)
