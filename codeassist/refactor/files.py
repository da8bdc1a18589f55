"""Refactor files and directories: discovery, decoding, the pure core, diffs and atomic
writes. ``refactor_paths`` is what the CLI, the pre-commit hook and the workers call."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from codeassist.config import DiscoveryOptions, RefactorOptions
from codeassist.errors import CodeassistError
from codeassist.files import (
    SourceFile,
    decode_source,
    discover_files,
    encode_source,
    read_source,
    write_atomic,
)
from codeassist.refactor.errors import SourceParseError
from codeassist.refactor.pipeline import RefactorResult, refactor_many, refactor_source
from codeassist.refactor.unfixable import AMBIGUOUS_CODES
from core_model.progress import NULL_PROGRESS, Progress

MODES = ("diff", "check", "write")


@dataclass(frozen=True)
class FileOutcome:
    """One file's outcome: ``status`` is unchanged, changed (would change, or was written),
    failed (the gate refused; file untouched) or error (unreadable, unparseable, unwritable)."""

    path: str
    status: str
    diff: str = ""
    reason: str = ""
    violations: tuple[str, ...] = ()
    rewrites: tuple[tuple[str, int], ...] = ()
    over_target: tuple[tuple[str, int, int], ...] = ()
    output: str | None = None  # the new text for stdin input
    annotated: tuple[tuple[int, str], ...] = ()  # (line, code) given a noqa comment
    naming: tuple[str, ...] = ()  # pep8-naming findings, "line:col CODE message"
    kept: tuple[str, ...] = ()  # findings no behaviour-preserving fix removes, and why

    @property
    def kept_names(self) -> tuple[str, ...]:
        """The ambiguous names (E741-E743) among ``kept``."""
        return tuple(k for k in self.kept if k.split(" ", 2)[1] in AMBIGUOUS_CODES)

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "status": self.status,
            "reason": self.reason,
            "violations": list(self.violations),
            "rewrites": [{"name": n, "sites": c} for n, c in self.rewrites],
            "noqa_added": [{"line": line, "code": code} for line, code in self.annotated],
            "naming": list(self.naming),
            "violations_kept": list(self.kept),
            "ambiguous_names_kept": list(self.kept_names),
            "complexity_over_target": [
                {"function": n, "line": line, "complexity": c} for n, line, c in self.over_target
            ],
        }


@dataclass(frozen=True)
class RefactorReport:
    outcomes: tuple[FileOutcome, ...]
    mode: str
    max_complexity: int
    extra: dict = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)


def file_diff(path: str, before: str, after: str) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{path}",
            tofile=f"b/{path}",
        )
    )


def _outcome(source: SourceFile, result: RefactorResult) -> FileOutcome:
    over = tuple((f.name, f.line, f.complexity) for f in result.over_target)
    if result.status == "failed":
        return FileOutcome(
            source.path,
            "failed",
            reason=result.reason,
            violations=result.violations,
            over_target=over,
            naming=tuple(map(str, result.naming)),
        )
    diff = file_diff(source.path, source.text, result.output) if result.changed else ""
    return FileOutcome(
        source.path,
        result.status,
        diff=diff,
        rewrites=result.rewrites,
        over_target=over,
        output=result.output,
        annotated=result.annotated,
        naming=tuple(map(str, result.naming)),
        kept=result.kept,
    )


def _refactor_chunk(paths: Sequence[str], options: RefactorOptions, mode: str) -> list[FileOutcome]:
    """Refactor files as one batch (one ruff process per pass for all of them); in ``write``
    mode replace each changed file atomically (mode, encoding, BOM and newline style kept).
    Errors become ``error`` outcomes, never a half-written file."""
    outcomes: dict[str, FileOutcome] = {}
    sources: list[SourceFile] = []
    for path in paths:
        try:
            sources.append(read_source(Path(path)))
        except CodeassistError as exc:
            outcomes[path] = FileOutcome(path, "error", reason=str(exc))
    try:
        results = refactor_many([(s.path, s.text) for s in sources], options)
    except CodeassistError as exc:  # ruff itself cannot run: every file in the batch errs
        results = [None] * len(sources)
        for s in sources:
            outcomes[s.path] = FileOutcome(s.path, "error", reason=str(exc))
    for source, result in zip(sources, results, strict=True):
        if result is None:
            continue
        if result.status == "error":
            reason = result.reason.removeprefix("cannot parse: ")
            error = SourceParseError(source.path, result.error_line, reason)
            outcomes[source.path] = FileOutcome(source.path, "error", reason=str(error))
            continue
        outcome = _outcome(source, result)
        try:
            if mode == "write" and outcome.status == "changed":
                write_atomic(Path(source.path), encode_source(source, result.output), source.mode)
        except CodeassistError as exc:
            outcome = FileOutcome(source.path, "error", reason=str(exc))
        outcomes[source.path] = FileOutcome(**{**outcome.__dict__, "output": None})
    return [outcomes[p] for p in paths]


def refactor_file(path: str, options: RefactorOptions, mode: str) -> FileOutcome:
    """Refactor one file (see `_refactor_chunk`)."""
    return _refactor_chunk([path], options, mode)[0]


def refactor_stdin(data: bytes, options: RefactorOptions) -> FileOutcome:
    """Refactor source read from stdin; the caller writes ``output`` to stdout."""
    try:
        source = decode_source(data, "-")
        return _outcome(source, refactor_source(source.text, options, "-"))
    except CodeassistError as exc:
        return FileOutcome("-", "error", reason=str(exc))


# Files per batch: large enough that ruff's start-up is amortised, small enough that the
# batches spread over the worker processes and the progress bar moves.
CHUNK_FILES = 24
# ... and no smaller than this: a batch split over processes pays each process's ruff start-ups
# again (each ruff process already uses every core) and the pool's own start; below two such
# batches (a pre-commit run on a handful of files) one process is faster end to end.
MIN_CHUNK_FILES = 8


def refactor_paths(
    paths: Sequence[Path],
    options: RefactorOptions,
    discovery: DiscoveryOptions,
    mode: str = "diff",
    jobs: int = 1,
    progress: Progress | bool = NULL_PROGRESS,
) -> RefactorReport:
    """Refactor every Python file under ``paths`` (see `FileOutcome` for the statuses).

    ``progress`` counts files done (trees of 20 files or more); a bool, which older callers
    passed for a built-in bar, reports nothing.
    """
    if isinstance(progress, bool):
        progress = NULL_PROGRESS
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    files = [str(p) for p in discover_files(paths, discovery)]
    size = max(MIN_CHUNK_FILES, min(CHUNK_FILES, -(-len(files) // max(jobs, 1))))
    chunks = [files[i : i + size] for i in range(0, len(files), size)]
    if len(files) < 20:
        progress = NULL_PROGRESS  # a handful of files (a pre-commit run) finishes at once
    progress.stage("refactor", total=len(files), unit="files")
    outcomes: list[FileOutcome] = []
    if jobs > 1 and len(chunks) > 1:
        # imported here: a run that fits one chunk never needs it
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(jobs, len(chunks))) as pool:
            for done in pool.map(
                _refactor_chunk, chunks, [options] * len(chunks), [mode] * len(chunks)
            ):
                outcomes.extend(done)
                progress.advance(len(done))
    else:
        for chunk in chunks:
            done = _refactor_chunk(chunk, options, mode)
            outcomes.extend(done)
            progress.advance(len(done))
    progress.close()
    return RefactorReport(tuple(outcomes), mode, options.max_complexity)
