"""The exceptions every session store raises, whatever its backend."""

from __future__ import annotations

from types import TracebackType

__all__ = [
    "BackendErrors",
    "InvalidSessionIdError",
    "RevisionConflictError",
    "SessionExistsError",
    "SessionStoreError",
    "StoreBusyError",
]


class SessionStoreError(Exception):
    """A session store operation failed; a backend failure is attached as ``__cause__``."""


class SessionExistsError(SessionStoreError):
    """``create_session`` was called for an id that already names a live session."""


class StoreBusyError(SessionStoreError):
    """Every connection to the backend stayed busy for the store's pool timeout.

    The operation was not sent, so nothing changed: it is safe to try again
    later (an HTTP server can answer 503 with ``Retry-After``). A store raises
    it only where it can tell a full pool from a backend that is down; the
    backend's own exception is ``__cause__``.
    """


class InvalidSessionIdError(SessionStoreError, ValueError):
    """A session id is not a str of 1 to 256 characters in 0x21-0x7E."""


class RevisionConflictError(SessionStoreError):
    """A conditional ``update_session`` found another revision, or no live session.

    ``current_revision`` is the revision found, ``None`` when the session is missing
    or expired. Nothing was changed.
    """

    def __init__(self, message: str, current_revision: int | None = None) -> None:
        super().__init__(message)
        self.current_revision = current_revision


class BackendErrors:
    """Turn the backend's own exceptions into ``SessionStoreError`` with the cause kept.

    A class rather than a generator-based context manager: it sits on every
    operation's hot path.
    """

    __slots__ = ("backend", "busy_types", "exception_types", "operation")

    def __init__(
        self,
        backend: str,
        operation: str,
        exception_types: tuple[type[BaseException], ...],
        busy_types: tuple[type[BaseException], ...] = (),
    ) -> None:
        """``busy_types``: the backend's exceptions for "no free connection in time",
        raised as :class:`StoreBusyError`."""
        self.backend = backend
        self.operation = operation
        self.exception_types = exception_types
        self.busy_types = busy_types

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or isinstance(exc, SessionStoreError):
            return
        if isinstance(exc, self.busy_types):
            raise StoreBusyError(
                f"{self.backend}: {self.operation} failed: {type(exc).__name__}: {exc}"
            ) from exc
        if isinstance(exc, self.exception_types):
            detail = str(exc) or type(exc).__name__
            raise SessionStoreError(
                f"{self.backend}: {self.operation} failed: {type(exc).__name__}: {detail}"
            ) from exc
