"""The small error vocabulary of PolicyQA.

Each error names the offending value and the fix. Entry points translate them: the CLI into an
exit code and a one-line message, the UI into ``gr.Error``, HTTP into a 4xx JSON body.
"""

from __future__ import annotations


class PolicyQAError(Exception):
    """Base class: an expected failure with a message fit to show to the user."""


class ConfigError(PolicyQAError):
    """A setting is invalid or names something that is not installed."""


class IndexNotFoundError(PolicyQAError):
    """No index exists where the settings point."""


class IndexBusyError(PolicyQAError):
    """Another process holds the index's write lock (one writer per index)."""


class DocumentNotFoundError(PolicyQAError):
    """A document id or path is not in the index."""


class LoadError(PolicyQAError):
    """A file could not be turned into text.

    ``reason`` is a short machine-readable code (``encrypted``, ``corrupt``,
    ``encoding``, ``unsupported``, ``empty``, ``too_large``, ``unreadable``) and the message says
    what happened in words.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason

    def __reduce__(self) -> tuple[type[LoadError], tuple[str, str]]:
        # Crosses the process boundary when a file is parsed in the sandbox.
        return (LoadError, (self.reason, str(self)))


class InvalidQuestionError(PolicyQAError):
    """A question that cannot be answered as given (empty, too long, binary)."""
