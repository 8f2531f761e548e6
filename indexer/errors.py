"""Errors shown to users. The CLI prints their message as one line and exits non-zero;
each message says what to do."""


class ModelcatError(Exception):
    """Base class: an error the user can fix, with a message that says how."""


class CatalogError(ModelcatError):
    """The catalog file cannot be used (missing directory, read-only, corrupt, not ours, newer)."""


class SourceError(ModelcatError):
    """A source failed; the refresh reports it and goes on with the others."""


class SourceUnavailable(SourceError):
    """A source cannot run here (no network, a library missing); reported and skipped."""


class RefreshLocked(ModelcatError):
    """Another refresh holds the catalog's lock."""


class UnknownSource(ModelcatError):
    """A source name that is not registered."""


class NotFound(ModelcatError):
    """A catalog id that is not in the catalog."""


class SkipRecord(Exception):
    """Raised by a source's normalize() for a record that does not belong in the catalog.

    Not an error: the refresh counts the record as skipped, with this reason.
    """
