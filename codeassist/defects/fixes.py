"""Mined bug fixes as data: the `FixCase` record, its JSONL file, and the by-repository split.

A case is one function before and after a small bug fix (see `mining`). Its text is other
people's code: data sets live outside the repository; what is committed is the recipe (the
repositories, commits and settings) and each data file's SHA-256 digest.

Evaluation and training read a case as a file of its own: a first line that imports the names
the function reads from its module (so a name the module defines is not an undefined name),
then the function, dedented to the top level (`case_source`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from codeassist.defects.errors import DefectsError
from codeassist.files import write_atomic

SPLITS = ("train", "validation", "test")
# Lines before the function in `case_source`: the context line.
HEADER_LINES = 1


class FixesFileError(DefectsError):
    """A fixes data set line is not a valid case."""

    def __init__(self, path: str, line: int, field: str, reason: str) -> None:
        super().__init__(f"{path}:{line}: field {field!r}: {reason}")
        self.path = path
        self.line = line
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class FixCase:
    """One mined bug fix.

    Attributes:
        repo: Repository name (``owner/name``).
        commit: The fixing commit; its first parent holds the buggy version.
        path: File path in the repository.
        function: Qualified name of the changed function (``Class.method``).
        before: The function before the fix, dedented to the top level.
        after: The function after the fix, dedented likewise.
        buggy_lines: Lines of `before` (1-based) of the statements the fix changed.
        changed_lines: Lines of `before` the diff removes or replaces (code lines only).
        file_line: File line (1-based) of `before`'s first line in the buggy file.
        subject: The commit message's first line.
        category: What the fix changed (`fix_diff.FIX_CATEGORIES`).
        context: Names the function reads that its module (or an enclosing function) binds.
        split: ``train``, ``validation`` or ``test`` (by repository), or ``""`` before
            the split is made.
    """

    repo: str
    commit: str
    path: str
    function: str
    before: str
    after: str
    buggy_lines: tuple[int, ...]
    changed_lines: tuple[int, ...]
    file_line: int
    subject: str
    category: str
    context: tuple[str, ...]
    split: str = ""

    @property
    def buggy_file_lines(self) -> tuple[int, ...]:
        """`buggy_lines` as lines of the buggy file."""
        return tuple(line + self.file_line - 1 for line in self.buggy_lines)

    def to_json(self) -> str:
        """One JSONL line."""
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)


def case_source(case: FixCase, fixed: bool = False) -> str:
    """The case as a file: the context import line, then the function before (or after) the
    fix. Line ``HEADER_LINES + k`` of it is line ``k`` of the function."""
    header = f"import {', '.join(case.context)}" if case.context else "pass"
    body = case.after if fixed else case.before
    return f"{header}\n{body}" if body.endswith("\n") else f"{header}\n{body}\n"


_TYPES = {f.name: f.type for f in fields(FixCase)}


def _parse_case(data: object, path: str, line: int) -> FixCase:
    if not isinstance(data, dict):
        raise FixesFileError(path, line, "-", "not a JSON object")
    values = {}
    for name, kind in _TYPES.items():
        if name not in data:
            if name == "split":
                continue
            raise FixesFileError(path, line, name, "missing")
        value = data[name]
        if kind == "tuple[int, ...]":
            if not isinstance(value, list) or not all(isinstance(v, int) and v >= 1 for v in value):
                raise FixesFileError(path, line, name, "not a list of positive line numbers")
            value = tuple(value)
        elif kind == "tuple[str, ...]":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise FixesFileError(path, line, name, "not a list of strings")
            value = tuple(value)
        elif kind == "int":
            if not isinstance(value, int) or value < 1:
                raise FixesFileError(path, line, name, "not a positive integer")
        elif not isinstance(value, str):
            raise FixesFileError(path, line, name, "not a string")
        values[name] = value
    if not values["buggy_lines"]:
        raise FixesFileError(path, line, "buggy_lines", "empty")
    if values.get("split", "") not in ("", *SPLITS):
        raise FixesFileError(path, line, "split", f"not one of {', '.join(SPLITS)}")
    return FixCase(**values)


def load_fixes(paths: Iterable[Path], split: str | None = None) -> list[FixCase]:
    """Cases from JSONL files, in file order; only `split`'s when given.

    Raises:
        FixesFileError: a line is not JSON or misses a field (file, line and field named).
    """
    cases = []
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise FixesFileError(str(path), 0, "-", f"cannot read: {exc}") from exc
        for number, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise FixesFileError(str(path), number, "-", f"not JSON: {exc.msg}") from exc
            case = _parse_case(data, str(path), number)
            if split is None or case.split == split:
                cases.append(case)
    return cases


def spread(cases: list[FixCase], count: int | None) -> list[FixCase]:
    """At most `count` cases evenly spaced through the list (every repository of a split gets
    its share, as cases come grouped by repository), in order; all of them for None."""
    if count is None or count >= len(cases):
        return list(cases)
    return [cases[(k * len(cases)) // count] for k in range(count)]


def write_fixes(cases: Iterable[FixCase], path: Path) -> str:
    """Write cases as JSONL (atomically); returns the file's SHA-256."""
    data = "".join(case.to_json() + "\n" for case in cases).encode("utf-8")
    write_atomic(path, data)
    return hashlib.sha256(data).hexdigest()


def file_digest(path: Path) -> str:
    """SHA-256 of a data set file: what the recipe and a trained detector record."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def split_repositories(
    counts: dict[str, int], validation: float = 0.2, test: float = 0.2
) -> dict[str, str]:
    """Each repository's split, disjoint by repository.

    Repositories are taken in an order fixed by a hash of their names (not their size, which
    would put the same kind of project in one split); the test split takes repositories until
    it holds `test` of the cases, then validation until it holds `validation`; the rest train.
    """
    total = sum(counts.values())
    order = sorted(counts, key=lambda r: hashlib.sha256(r.encode()).hexdigest())
    split: dict[str, str] = {}
    held = {"test": 0, "validation": 0}
    for repo in order:
        if held["test"] < test * total:
            name = "test"
        elif held["validation"] < validation * total:
            name = "validation"
        else:
            name = "train"
        split[repo] = name
        if name in held:
            held[name] += counts[repo]
    return split
