"""The one error type that reaches the user: bad input, reported as ``path[:line]: message``."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Input the pipeline cannot use. The CLI prints ``str(err)`` on one line and exits 2."""

    def __init__(self, path: str | Path, message: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"
