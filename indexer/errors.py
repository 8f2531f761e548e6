"""Errors shown to users. The CLI prints their message as one line and exits non-zero;
each message says what to do."""


class ModelcatError(Exception):
    """Base class: an error the user can fix, with a message that says how."""


class InstallError(ModelcatError):
    """modelcat's own files (its schema folder, a data table) are missing: a broken install."""


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

    Not an error: the refresh counts the record as skipped, with this reason (counted: keep it
    general); `detail` names the record (logged with `modelcat -v refresh`).
    """

    def __init__(self, reason: str, detail: str | None = None):
        super().__init__(reason)
        self.detail = detail


class LoadError(ModelcatError):
    """load_model could not build the model; the message says why and what to do."""


class NotLoadable(LoadError):
    """The row cannot become a torch model (a GGUF/ONNX/TF-only repo, a paper, a code repository)."""


class UntrustedCode(LoadError):
    """Loading would run code from the model's repository and the user has not opted in."""


class WeightsUnavailable(LoadError):
    """The weights cannot be had: missing files, a gated repository without a token, offline and not cached."""


class UnsafeWeights(LoadError):
    """The weights are a pickle that a weights-only load refuses (it could run code)."""


class LocalFault(CatalogError):
    """This machine could not write the catalog: a full disk, a file or folder that cannot be
    written, an I/O error, no memory. The refresh stops (every other source would meet it too);
    what was committed before the fault is kept."""
