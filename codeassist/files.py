"""Source files on disk: discovery (.gitignore, --exclude), decoding and atomic writes.

A `SourceFile` remembers how its bytes looked (encoding, BOM, newline style, mode) so that a
rewrite is written back the same way; the refactor core only ever sees ``\\n``-separated text.
"""

from __future__ import annotations

import codecs
import io
import os
import stat
import tempfile
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pathspec

from codeassist.config import DiscoveryOptions
from codeassist.refactor.errors import SourceDecodeError, WriteFailed

# Directories nobody wants formatted (black's and ruff's defaults, shortened).
DEFAULT_EXCLUDED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        "__pycache__",
        "build",
        "dist",
        "node_modules",
        "__pypackages__",
    }
)


@dataclass(frozen=True)
class SourceFile:
    """A decoded Python source and how to encode it back.

    Attributes:
        path: Where it came from (``-`` for stdin).
        text: The source with ``\\n`` line endings.
        encoding: Codec name from the PEP 263 cookie or the default (``utf-8``).
        bom: The bytes started with a UTF-8 byte-order mark.
        newline: ``"\\n"`` or ``"\\r\\n"``, taken from the first line ending.
        mode: Permission bits to keep on rewrite (``None`` for stdin).
    """

    path: str
    text: str
    encoding: str = "utf-8"
    bom: bool = False
    newline: str = "\n"
    mode: int | None = None


def decode_source(data: bytes, path: str = "-", mode: int | None = None) -> SourceFile:
    """Decode bytes the way Python does (BOM, PEP 263 cookie, else UTF-8).

    Raises:
        SourceDecodeError: The cookie names an unknown codec or the bytes do not decode.
    """
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise SourceDecodeError(path, getattr(exc, "lineno", None) or 1, str(exc)) from exc
    bom = data.startswith(codecs.BOM_UTF8)
    if bom:
        data = data[len(codecs.BOM_UTF8) :]
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SourceDecodeError(path, line, f"{exc.reason} ({encoding})") from exc
    first = text.find("\n")
    newline = "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"
    if "\r" in text:
        # Python itself treats \r\n and lone \r as line ends; normalise so the core sees \n.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return SourceFile(path=path, text=text, encoding=encoding, bom=bom, newline=newline, mode=mode)


def read_source(path: Path) -> SourceFile:
    """Read and decode one file, keeping its mode bits.

    Raises:
        SourceDecodeError: The file cannot be read or decoded.
    """
    try:
        data = path.read_bytes()
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise SourceDecodeError(path, 1, f"cannot read: {exc.strerror}") from exc
    return decode_source(data, str(path), mode)


def encode_source(source: SourceFile, text: str) -> bytes:
    """Encode ``text`` like ``source`` was: same codec, BOM and newline style."""
    if source.newline != "\n":
        text = text.replace("\n", source.newline)
    data = text.encode(source.encoding)
    return codecs.BOM_UTF8 + data if source.bom else data


def write_atomic(path: Path, data: bytes, mode: int | None = None) -> None:
    """Replace ``path`` with ``data``: temp file in the same directory, fsync, os.replace.

    A failure at any point removes the temporary file and leaves the original as it was.

    Raises:
        WriteFailed: Writing or replacing failed.
    """
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".moesuite-tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        # BaseException: a KeyboardInterrupt mid-write must not leave the temp file behind either.
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            raise WriteFailed(path, exc.strerror or str(exc)) from exc
        raise


def _gitignore_spec(directory: Path) -> pathspec.PathSpec | None:
    ignore = directory / ".gitignore"
    if not ignore.is_file():
        return None
    try:
        lines = ignore.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.PathSpec.from_lines("gitwildmatch", lines)


def _inherited_gitignores(root: Path) -> list[tuple[Path, pathspec.PathSpec]]:
    """The .gitignore files above ``root`` up to the repository top (the dir holding .git)."""
    found: list[tuple[Path, pathspec.PathSpec]] = []
    for parent in root.parents:
        spec = _gitignore_spec(parent)
        if spec is not None:
            found.append((parent, spec))
        if (parent / ".git").exists():
            return found
    return []  # not inside a repository: only .gitignore files at or below root count


def _ignored(path: Path, is_dir: bool, specs: Iterable[tuple[Path, pathspec.PathSpec]]) -> bool:
    for base, spec in specs:
        try:
            relative = path.relative_to(base).as_posix()
        except ValueError:
            continue
        if spec.match_file(relative + ("/" if is_dir else "")):
            return True
    return False


def _walk(root: Path, options: DiscoveryOptions) -> Iterator[Path]:
    exclude = pathspec.PathSpec.from_lines("gitwildmatch", options.exclude)
    inherited = _inherited_gitignores(root) if options.respect_gitignore else []
    stack: list[tuple[Path, list[tuple[Path, pathspec.PathSpec]]]] = [(root, inherited)]
    while stack:
        directory, specs = stack.pop()
        if options.respect_gitignore:
            own = _gitignore_spec(directory)
            if own is not None:
                specs = [*specs, (directory, own)]
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for entry in entries:
            path = Path(entry.path)
            is_dir = entry.is_dir(follow_symlinks=False)
            relative = path.relative_to(root).as_posix() + ("/" if is_dir else "")
            if exclude.match_file(relative) or _ignored(path, is_dir, specs):
                continue
            if is_dir:
                if entry.name not in DEFAULT_EXCLUDED_DIRS:
                    subdirs.append(path)
            elif entry.is_file() and entry.name.endswith(options.extensions):
                yield path
        stack.extend((d, specs) for d in reversed(subdirs))


def discover_files(paths: Iterable[Path], options: DiscoveryOptions) -> list[Path]:
    """Expand files and directories into the Python files to process, sorted, no duplicates.

    Files named explicitly are always kept (as black and ruff do); directories are walked
    recursively, skipping what .gitignore files and ``options.exclude`` match.
    """
    seen: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            for found in _walk(path, options):
                seen.setdefault(found, None)
        else:
            seen.setdefault(path, None)
    return list(seen)
