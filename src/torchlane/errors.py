"""The one user-facing error type: a sentence saying what is wrong, and a hint saying what to do."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_UNEXPECTED = 3
EXIT_INTERRUPTED = 130


class TorchlaneError(Exception):
    """An expected failure. The CLI prints `message` and `hint` and exits with `exit_code`."""

    def __init__(self, message: str, hint: str | None = None, *, exit_code: int = EXIT_FAILURE):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message}\nhint: {self.hint}"


def usage_error(message: str, hint: str | None = None) -> TorchlaneError:
    return TorchlaneError(message, hint, exit_code=EXIT_USAGE)
