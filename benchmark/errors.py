"""Exception types. Every message names the problem and the fix."""
from __future__ import annotations


class GeobenchError(Exception):
    """Base class for all errors raised by geobench."""


class UnknownNameError(GeobenchError, KeyError):
    """A task, encoder, head, split or continent name that is not registered."""

    def __str__(self) -> str:  # KeyError quotes its message; we do not want that.
        return str(self.args[0]) if self.args else ""


class InputError(GeobenchError, ValueError):
    """Bad user input: coordinates, options, shapes."""


class DataError(GeobenchError):
    """A data file is missing, truncated or fails its checksum."""


class ChecksumError(DataError):
    """A file's sha256 differs from the declared one."""


class CheckpointError(GeobenchError):
    """A model checkpoint has the wrong format, keys or shapes."""


class NotApplicableError(GeobenchError):
    """A head or protocol cannot run on this task; the cell is recorded as not applicable, never retried."""


class DuplicateNameError(GeobenchError, ValueError):
    """A task, encoder or head name that is already registered (pass ``override=True`` to replace it)."""
