"""Mining small bug fixes from git histories (`moesuite mine-fixes`).

Git does the cheap filtering: one ``git log --no-merges --numstat -- '*.py'`` per repository
lists the commits and how many lines each touched in which Python file, so only commits whose
message reads like a bug fix (`is_fix_message`) and that change a few lines of exactly one
non-test source file are read further; both versions of that file come from one
``git cat-file --batch`` per chunk of commits. `fix_diff.analyse_change` then keeps the fixes
inside one function. Repositories are only read (bare ones too), never written. The scan is
deterministic for a given HEAD: commits come in git's order and are capped by count.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from codeassist.defects.errors import DefectsError
from codeassist.defects.fix_diff import DiffLimits, Rejected, analyse_change
from codeassist.defects.fixes import FixCase

# Words of a bug-fix message, and words that mark another kind of change (they win).
_FIX_WORDS = re.compile(
    r"\b(fix(e[sd])?|fixing|bug(s|fix)?|typo|wrong|incorrect(ly)?|crash(es|ed)?|errors?|"
    r"mistake|broken|regression|exception|fail(s|ed|ure)?|correct(s|ed|ly)?)\b",
    re.IGNORECASE,
)
_OTHER_WORDS = re.compile(
    r"\b(refactor\w*|renam\w*|format\w*|style|lint\w*|flake8|pep ?8|black|isort|bump\w*|"
    r"merge|revert\w*|docs?|docstrings?|documentation|typing|type hints?|annotations?|"
    r"spelling|deprecat\w*|cleanup|clean up|changelog)\b",
    re.IGNORECASE,
)
_TEST_DIRS = {"test", "tests", "testing", "unittests", "functional_tests", "integration"}
# Generated, vendored or not application code.
_SKIPPED_DIRS = {
    "migrations", "_vendor", "vendor", "vendored", "third_party", "externals", "docs", "doc",
    "examples", "example", "benchmarks", "scripts", "tools", "contrib", "build",
}  # fmt: skip
_RECORD = "\x01"


class MiningError(DefectsError):
    """A repository cannot be read with git."""

    def __init__(self, repo: str, reason: str) -> None:
        super().__init__(f"{repo}: {reason}")
        self.repo = repo
        self.reason = reason


@dataclass(frozen=True)
class MineConfig:
    """What counts as a small bug fix, and how much history to read.

    Attributes:
        max_commits: Commits that touch a ``.py`` file scanned per repository, newest first.
        since: Only commits after this date (anything ``git log --since`` reads).
        max_fixes: Fixes kept per repository (the newest), or None for all.
        max_changed_lines: Lines added, and lines removed, in the source file (each at most).
        limits: Statement and function-size limits (`fix_diff.DiffLimits`).
        chunk: Commits whose files are read per ``git cat-file`` call.
    """

    max_commits: int = 20_000
    since: str | None = None
    max_fixes: int | None = None
    max_changed_lines: int = 6
    limits: DiffLimits = field(default_factory=DiffLimits)
    chunk: int = 200


@dataclass(frozen=True)
class RepositoryReport:
    """One repository's scan: its name, HEAD, commits scanned, fix-like commits read, the
    cases kept and why the others were left out."""

    repo: str
    head: str
    scanned: int
    candidates: int
    cases: list[FixCase]
    rejected: Counter
    error: str | None = None


def is_fix_message(subject: str) -> bool:
    """A commit subject that reads like a bug fix and not like a refactor, formatting, a
    dependency bump, a merge, a revert, documentation or tests."""
    return bool(_FIX_WORDS.search(subject)) and not _OTHER_WORDS.search(subject)


def is_test_path(path: str) -> bool:
    """Test code: a test directory, ``test_*.py``, ``*_test(s).py`` or ``conftest.py``."""
    parts = PurePosixPath(path).parts
    name = parts[-1]
    return (
        bool(_TEST_DIRS.intersection(p.lower() for p in parts[:-1]))
        or name.startswith("test_")
        or name.endswith(("_test.py", "_tests.py"))
        or name == "conftest.py"
    )


def is_source_path(path: str) -> bool:
    """A Python source file worth mining: not a test, not generated or vendored, not docs."""
    parts = PurePosixPath(path).parts
    return (
        path.endswith(".py")
        and not is_test_path(path)
        and not _SKIPPED_DIRS.intersection(p.lower() for p in parts[:-1])
        and parts[-1] not in ("setup.py", "conf.py", "noxfile.py", "tasks.py")
    )


def repository_name(path: Path) -> str:
    """``owner/name`` for a mirror laid out as ``owner+name/repo``, else the directory's name."""
    path = path.resolve()
    if path.name == "repo" and "+" in path.parent.name:
        return path.parent.name.replace("+", "/", 1)
    return path.name.removesuffix(".git")


def _git(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), "-c", "core.quotepath=off", *args],
            input=data,
            capture_output=True,
            check=False,
        )
    except OSError as exc:
        raise MiningError(str(repo), f"cannot run git: {exc}") from exc
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise MiningError(str(repo), f"git {args[0]} failed: {message[-1] if message else ''}")
    return done.stdout


@dataclass(frozen=True)
class _Commit:
    sha: str
    parent: str
    subject: str
    path: str


def _scan(repo: Path, config: MineConfig) -> tuple[int, list[_Commit]]:
    """Commits scanned, and those whose message reads like a fix and whose Python changes are
    a few lines of one source file (test files beside it are allowed)."""
    args = ["log", "--no-merges", "--no-renames", f"--format={_RECORD}%H %P%x00%s", "--numstat"]
    args += [f"--max-count={config.max_commits}"]
    if config.since:
        args.append(f"--since={config.since}")
    out = _git(repo, *args, "HEAD", "--", "*.py").decode("utf-8", errors="replace")
    records = out.split(_RECORD)[1:]
    kept = []
    for record in records:
        header, _, body = record.partition("\n")
        shas, _, subject = header.partition("\x00")
        sha, *parents = shas.split()
        if not parents or not is_fix_message(subject):
            continue
        sources = []
        for line in body.splitlines():
            parts = line.split("\t")
            if len(parts) != 3 or not parts[2].endswith(".py"):
                continue
            added, removed, path = parts
            if not is_test_path(path):
                sources.append((added, removed, path))
        if len(sources) != 1:
            continue
        added, removed, path = sources[0]
        if not (added.isdigit() and removed.isdigit()) or not is_source_path(path):
            continue
        if int(added) <= config.max_changed_lines and 1 <= int(removed) <= config.max_changed_lines:
            kept.append(_Commit(sha, parents[0], subject.strip(), path))
    return len(records), kept


def _read_blobs(repo: Path, names: list[str]) -> list[bytes | None]:
    """Contents of ``rev:path`` objects in order (None where missing), one git call."""
    out = _git(repo, "cat-file", "--batch", data="".join(f"{n}\n" for n in names).encode())
    blobs: list[bytes | None] = []
    at = 0
    for _ in names:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        at = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            blobs.append(out[at : at + size])
            at += size + 1
        else:
            blobs.append(None)
    return blobs


def mine_repository(repo: Path, config: MineConfig, name: str | None = None) -> RepositoryReport:
    """The small bug fixes in one repository's history (see the module docstring).

    Raises:
        MiningError: the path is not a git repository git can read.
    """
    name = name or repository_name(repo)
    head = _git(repo, "rev-parse", "HEAD").decode().strip()
    scanned, commits = _scan(repo, config)
    rejected: Counter = Counter()
    cases: list[FixCase] = []
    for first in range(0, len(commits), config.chunk):
        chunk = commits[first : first + config.chunk]
        blobs = _read_blobs(
            repo, [n for c in chunk for n in (f"{c.parent}:{c.path}", f"{c.sha}:{c.path}")]
        )
        for k, commit in enumerate(chunk):
            before, after = blobs[2 * k], blobs[2 * k + 1]
            if before is None or after is None:
                rejected["file added or removed"] += 1
                continue
            try:
                change = analyse_change(
                    before.decode("utf-8"), after.decode("utf-8"), config.limits
                )
            except UnicodeDecodeError:
                rejected["not UTF-8"] += 1
                continue
            except Rejected as exc:
                rejected[exc.reason] += 1
                continue
            cases.append(
                FixCase(
                    repo=name,
                    commit=commit.sha,
                    path=commit.path,
                    function=change.function,
                    before=change.before,
                    after=change.after,
                    buggy_lines=change.buggy_lines,
                    changed_lines=change.changed_lines,
                    file_line=change.file_line,
                    subject=commit.subject,
                    category=change.category,
                    context=change.context,
                )
            )
        if config.max_fixes is not None and len(cases) >= config.max_fixes:
            cases = cases[: config.max_fixes]
            break
    return RepositoryReport(name, head, scanned, len(commits), cases, rejected)


def _mine_or_report(repo: Path, config: MineConfig, name: str) -> RepositoryReport:
    try:
        return mine_repository(repo, config, name)
    except MiningError as exc:  # one unreadable mirror must not lose the others' work
        return RepositoryReport(name, "", 0, 0, [], Counter(), error=exc.reason)


def mine_repositories(
    repos: list[Path], config: MineConfig, names: list[str] | None = None, jobs: int = 1
) -> Iterator[RepositoryReport]:
    """`mine_repository` for each repository, in order, `jobs` repositories at a time (each
    scan is one process: git and the parsing are CPU-bound, and the machine may be shared); a
    repository git cannot read comes back empty with its ``error``."""
    names = names or [repository_name(r) for r in repos]
    if jobs <= 1:
        for repo, name in zip(repos, names, strict=True):
            yield _mine_or_report(repo, config, name)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(_mine_or_report, repos, [config] * len(repos), names)


def with_splits(cases: list[FixCase], split: dict[str, str]) -> list[FixCase]:
    """The cases with each one's repository's split filled in."""
    return [replace(case, split=split[case.repo]) for case in cases]


def build_recipe(
    reports: list[RepositoryReport],
    config: MineConfig,
    split: dict[str, str],
    data_file: str,
    digest: str,
) -> dict:
    """What reproduces a mined data set: the settings, each repository's HEAD, split, counts
    and the commits kept, and the data file's SHA-256 (the mined text itself is not kept)."""
    return {
        "settings": {
            "max_commits": config.max_commits,
            "since": config.since,
            "max_fixes": config.max_fixes,
            "max_changed_lines": config.max_changed_lines,
            "max_statements": config.limits.max_statements,
            "max_function_lines": config.limits.max_function_lines,
        },
        "data": {
            "file": data_file,
            "sha256": digest,
            "cases": sum(len(r.cases) for r in reports),
        },
        "repositories": [
            {
                "repo": r.repo,
                "head": r.head,
                "split": split.get(r.repo, ""),
                "commits_scanned": r.scanned,
                "fix_commits_read": r.candidates,
                "cases": len(r.cases),
                **({"error": r.error} if r.error else {}),
                "left_out": dict(sorted(r.rejected.items())),
                "commits": [c.commit for c in r.cases],
            }
            for r in reports
        ],
    }
