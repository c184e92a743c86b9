"""Domain errors raised by services; views turn them into a clear message (never a 500)."""


class DomainError(Exception):
    """A refused action, with a message a user can act on."""

    def __init__(self, message, *, field: str | None = None):
        self.message = message
        self.field = field
        super().__init__(str(message))

    @property
    def problems(self) -> list["Problem"]:
        """Every problem of the refusal, each on its field (one, unless it is a ``Problems``)."""
        return [Problem(self.message, field=self.field, row=getattr(self, "analyte", None))]


class Problem:
    """One reason for refusing a save: a message, the field it concerns and, in a table, its row."""

    def __init__(self, message, *, field: str | None = None, row: str | None = None):
        self.message, self.field, self.row = message, field, row

    def __repr__(self):
        return f"Problem({str(self.message)!r}, field={self.field!r}, row={self.row!r})"


class Problems(DomainError):
    """Several problems found by one save, refused together so the user corrects them in one pass."""

    def __init__(self, problems: list[Problem]):
        self._problems = list(problems)
        first = self._problems[0]
        super().__init__(first.message, field=first.field)

    @property
    def problems(self) -> list[Problem]:
        return self._problems


def refuse(problems: list[Problem]) -> None:
    """Raise the problems found, if any: one as a plain ``DomainError`` field message, several together."""
    if problems:
        raise Problems(problems)


class ConflictError(DomainError):
    """Someone else saved the record after it was opened (optimistic locking)."""

    def __init__(self, message, *, current=None, merge=None):
        self.current = current
        self.merge = merge  # an ``edc.merge.Merge`` when the service merged the stale save
        super().__init__(message)


# The SQLSTATE the lock trigger raises (``edc.integrity``): an implementation-defined class
# ("LK"; classes I–Z are never PostgreSQL's own), told apart from any other database error.
LOCKED_SQLSTATE = "LK001"


class LockedError(DomainError):
    """The data are locked (``monitoring.Lock``): refused by the services or by the database trigger."""

    def __init__(self, *, scope: str, by: str, at: str, reason: str):
        from django.utils.translation import gettext as _

        self.scope, self.by, self.at, self.reason = scope, by, at, reason
        names = {
            "form": _("This form"),
            "visit": _("This visit"),
            "participant": _("This participant's data"),
            "study": _("The study database"),
        }
        super().__init__(
            _("%(what)s is locked by %(by)s on %(at)s: %(reason)s")
            % {"what": names.get(scope, scope), "by": by, "at": at, "reason": reason}
        )

    @classmethod
    def from_database(cls, exc) -> "LockedError | None":
        """The refusal of the lock trigger (``edc.integrity``) behind a database error, if it is one."""
        import json

        cause = getattr(exc, "__cause__", None)
        if getattr(cause, "sqlstate", None) != LOCKED_SQLSTATE:
            return None
        detail = json.loads(cause.diag.message_detail or "{}")
        return cls(
            scope=detail.get("scope", ""),
            by=detail.get("by", ""),
            at=detail.get("at", ""),
            reason=detail.get("reason", ""),
        )
