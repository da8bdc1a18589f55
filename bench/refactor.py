"""Benchmark `moesuite refactor --style pep8` against autopep8 and ruff format, on two corpora.

- ``messy``: the installed files with the most pycodestyle violations per line
  (`bench/refactor_corpus.py`, rebuilt from this machine's packages; ``--manifest`` reuses a
  saved selection after checking every file's SHA-256);
- ``sparse``: old code with a *few* violations, installed files with 0.01-0.05 of them per
  line (``--density``; `bench/refactor_corpus.py`; ``--sparse-manifest`` reuses a selection);
- ``stdlib``: a seeded sample of the standard library (``--files 0``: all of it).

Every tool works on its own temporary copy of the files (nothing installed is modified), run the
way its users run it: ``moesuite refactor --write`` (all cores, like ruff and black; and
``--minimal``), ``autopep8 --aggressive --in-place`` (one process, its default, and ``--jobs
2``) and ``ruff format``. Each copy is then scored the same way: files broken (does not parse,
or the syntax tree changed beyond the gate's named rewrites), pycodestyle violations left,
idempotent (a second run of the same tool over its own output changes no file), and diff lines
changed (``-`` and ``+`` lines of a unified diff) per violation fixed.

For moesuite the table also counts the findings it reports as kept (no behaviour-preserving
fix: `codeassist.refactor.unfixable`) and the violations left outside them, the issue's goal.

Usage: OMP_NUM_THREADS=1 .venv/bin/python bench/refactor.py [--corpus messy,sparse,stdlib]
"""

from __future__ import annotations

import argparse
import ast
import collections
import dataclasses
import difflib
import hashlib
import io
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import tokenize
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
# the repository first: bench/ (this script's directory, on the path already, for
# refactor_corpus) has a core_model.py that would shadow the core_model package
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from refactor_corpus import build_corpus, manifest_digest, parse_density  # noqa: E402

from codeassist.config import DiscoveryOptions, RefactorOptions  # noqa: E402
from codeassist.refactor.files import refactor_paths  # noqa: E402
from codeassist.refactor.verify import check_equivalent, pycodestyle_violations  # noqa: E402

AMBIGUOUS = ("E741", "E742", "E743")


def _stdlib_files() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    return sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts)


def _decode(raw: bytes) -> str:
    encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    return raw.decode(encoding)


def _load(files: list[Path]) -> list[bytes]:
    """The files as they are on disk, those that CPython compiles: parsing the bytes honours
    the coding cookie, so py2 test data and files with a bogus cookie are no input for any
    tool, while latin-1 files are."""
    sources = []
    for p in files:
        try:
            raw = p.read_bytes()
            ast.parse(raw)
            _decode(raw)
            sources.append(raw)
        except (UnicodeDecodeError, OSError, SyntaxError, ValueError, LookupError):
            continue
    return sources


def _copy(sources: list[bytes], root: Path) -> list[Path]:
    root.mkdir()
    paths = []
    for i, raw in enumerate(sources):
        p = root / f"f{i:05d}.py"
        p.write_bytes(raw)
        paths.append(p)
    return paths


def _changed_lines(before: str, after: str) -> int:
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return sum(1 for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---")))


def _score_one(pair: tuple[str, str | None]) -> tuple[bool, list[tuple[int, str]], int]:
    src, out = pair
    if out is None:  # the tool wrote bytes its own coding cookie does not decode
        return True, [], 0
    broken = not check_equivalent(src, out).equal
    left = [(v.line, v.code) for v in pycodestyle_violations(out, 79)]
    return broken, left, _changed_lines(src, out)


def _violations(text: str) -> collections.Counter:
    return collections.Counter(v.code for v in pycodestyle_violations(text, 79))


@dataclass
class Row:
    name: str
    seconds: float
    broken: int = 0
    left: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    changed_lines: int = 0
    not_idempotent: int = 0
    kept: int = -1  # findings reported as having no behaviour-preserving fix (ours only)
    unexplained: int = -1  # violations left that are not among them (ours only)


def _kept_at(report: object) -> dict[str, set[tuple[int, str]]]:
    """(line, code) of each finding a moesuite report keeps, by path."""
    kept: dict[str, set[tuple[int, str]]] = {}
    for outcome in getattr(report, "outcomes", ()):
        for entry in outcome.kept:
            where, code = entry.split(" ", 2)[:2]
            kept.setdefault(outcome.path, set()).add((int(where.split(":")[0]), code))
    return kept


def _score(
    row: Row,
    texts: list[str],
    paths: list[Path],
    pool: ProcessPoolExecutor,
    kept: dict[str, set[tuple[int, str]]] | None,
) -> None:
    outs: list[str | None] = []
    for p in paths:
        try:
            outs.append(_decode(p.read_bytes()))
        except (UnicodeDecodeError, SyntaxError, LookupError):
            outs.append(None)
    if kept is not None:
        row.kept, row.unexplained = sum(len(k) for k in kept.values()), 0
    scored = pool.map(_score_one, zip(texts, outs, strict=True), chunksize=4)
    for path, (broken, left, changed) in zip(paths, scored, strict=True):
        row.broken += broken
        row.left.update(code for _, code in left)
        row.changed_lines += changed
        if kept is not None:
            row.unexplained += sum(v not in kept.get(str(path), set()) for v in left)


def _rerun_changes(run: Callable[[Path], None], paths: list[Path], scratch: Path) -> int:
    """Files a second run of the tool changes (its idempotence), on a copy of its output."""
    first = [p.read_bytes() for p in paths]
    again = _copy(first, scratch)
    run(again[0].parent)
    return sum(a.read_bytes() != b for a, b in zip(again, first, strict=True))


def _bin(name: str) -> str:
    return shutil.which(name) or str(Path(sys.executable).parent / name)


def _tools(args: argparse.Namespace) -> list[tuple[str, Callable[[Path], object]]]:
    def ours(options: RefactorOptions) -> Callable[[Path], object]:
        def run(root: Path) -> object:
            return refactor_paths(
                [root],
                options,
                DiscoveryOptions(respect_gitignore=False),
                mode="write",
                jobs=args.jobs,
                progress=False,
            )

        return run

    def autopep8(jobs: int) -> Callable[[Path], None]:
        def run(root: Path) -> None:
            subprocess.run(
                [_bin("autopep8"), "--aggressive", "--in-place", "--jobs", str(jobs), "-r"]
                + [str(root)],
                capture_output=True,
                check=False,
            )

        return run

    def ruff_format(root: Path) -> None:
        subprocess.run(
            [_bin("ruff"), "format", "--isolated", "--line-length", "79", "--no-cache", str(root)],
            capture_output=True,
            check=False,
        )

    tools = []
    for mode in args.ours.split(","):
        if mode == "full":
            tools.append((f"moesuite refactor --write (jobs={args.jobs})", ours(RefactorOptions())))
        elif mode == "minimal":
            options = RefactorOptions(minimal=True)
            tools.append((f"moesuite refactor --minimal --write (jobs={args.jobs})", ours(options)))
        elif mode:
            raise SystemExit(f"--ours: unknown mode {mode!r} (full, minimal)")
    for jobs in [int(j) for j in args.autopep8_jobs.split(",")]:
        tools.append((f"autopep8 --aggressive (jobs={jobs})", autopep8(jobs)))
    tools.append(("ruff format", ruff_format))
    return tools


def _installed(
    args: argparse.Namespace, manifest: Path | None, density: tuple[float, float] | None
) -> tuple[list[bytes], str]:
    if manifest and manifest.is_file():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        files = [Path(e["path"]) for e in data["files"]]
        sources = [p.read_bytes() for p in files]
        for raw, e in zip(sources, data["files"], strict=True):
            if hashlib.sha256(raw).hexdigest() != e["sha256"]:
                raise SystemExit(f"{e['path']}: changed since the manifest; rebuild it")
        return sources, f"manifest {manifest}, digest {data['digest'][:16]}"
    entries = build_corpus(args.messy_files, density=density)
    if manifest:
        payload = {
            "digest": manifest_digest(entries),
            "files": [dataclasses.asdict(e) for e in entries],
        }
        manifest.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    sources = _load([Path(e.path) for e in entries])
    return sources, f"rebuilt, digest {manifest_digest(entries)[:16]}"


def _stdlib(args: argparse.Namespace) -> tuple[list[bytes], str]:
    files = _stdlib_files()
    if args.files and args.files < len(files):
        files = random.Random(args.seed).sample(files, args.files)
    label = "whole stdlib" if not args.files else f"seed {args.seed}"
    return _load(files), label


def run_corpus(name: str, sources: list[bytes], label: str, args: argparse.Namespace) -> None:
    texts = [_decode(raw) for raw in sources]
    lines = sum(t.count("\n") for t in texts)
    with ProcessPoolExecutor(args.jobs) as pool:
        before = sum(pool.map(_violations, texts, chunksize=4), collections.Counter())
        load_before = os.getloadavg()[0]
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            for i, (tool, run) in enumerate(_tools(args)):
                paths = _copy(sources, Path(tmp) / f"t{i}")
                t0 = time.perf_counter()
                report = run(paths[0].parent)
                row = Row(tool, time.perf_counter() - t0)
                kept = _kept_at(report) if tool.startswith("moesuite") else None
                _score(row, texts, paths, pool, kept)
                if args.idempotence or tool.startswith("moesuite"):
                    row.not_idempotent = _rerun_changes(run, paths, Path(tmp) / f"t{i}-again")
                else:
                    row.not_idempotent = -1  # not measured
                rows.append(row)
    n, total_before = len(sources), sum(before.values())
    print(
        f"\n### {name}: {n} files, {lines} lines, {total_before} pycodestyle violations ({label})"
    )
    print(f"load average (1 min): {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    baseline = next(r for r in rows if r.name.startswith("autopep8"))
    print(
        f"\n| tool | seconds | files/s | vs {baseline.name} | broken | violations left "
        "| of which E741-E743 | kept as unfixable (reported) | left outside the kept "
        "| not idempotent | diff lines per violation fixed |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        top = ", ".join(f"{c} {k}" for c, k in r.left.most_common(3))
        left = sum(r.left.values())
        fixed = total_before - left
        per_fix = f"{r.changed_lines / fixed:.2f}" if fixed > 0 else "—"
        print(
            f"| {r.name} | {r.seconds:.1f} | {n / r.seconds:.1f} | "
            f"{baseline.seconds / r.seconds:.1f}x | {r.broken} | {left}"
            f"{f' ({top})' if left else ''} | {sum(r.left[c] for c in AMBIGUOUS)} | "
            f"{r.kept if r.kept >= 0 else '—'} | "
            f"{r.unexplained if r.unexplained >= 0 else '—'} | "
            f"{r.not_idempotent if r.not_idempotent >= 0 else 'not run'} | "
            f"{per_fix} ({r.changed_lines} lines) |"
        )


def _timed_cli(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and its children) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=False, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def precommit(args: argparse.Namespace) -> None:
    """The pre-commit path: ``moesuite refactor --check`` on a handful of files, end to end
    (a fresh interpreter: imports, CLI, engine), best of 3, and the engine alone in-process.

    End to end twice: as this environment runs Python (it may set PYTHONDONTWRITEBYTECODE,
    so the project's modules are compiled on every start), and with a bytecode cache (a
    private PYTHONPYCACHEPREFIX, warmed by one run first), as an installed package runs."""
    root = Path(__file__).resolve().parent.parent
    files = sorted(str(p) for p in (root / "codeassist" / "refactor").glob("*.py"))[
        : args.precommit
    ]
    cmd = [sys.executable, str(root / "cli.py"), "refactor", "--check", "--line-length", "100"]
    env = {**os.environ, "PYTHONPATH": str(root), "MOESUITE_HOME": tempfile.mkdtemp()}
    cached = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cached["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp()
    _timed_cli(cmd + files, cached)  # warms the cache
    runs = {"as run here": env, "bytecode cached": cached}
    timings = {label: [_timed_cli(cmd + files, e) for _ in range(3)] for label, e in runs.items()}
    engine = []
    for _ in range(3):
        t0 = time.perf_counter()
        refactor_paths(
            [Path(f) for f in files],
            RefactorOptions(line_length=100),
            DiscoveryOptions(),
            mode="check",
            jobs=args.jobs,
            progress=False,
        )
        engine.append(time.perf_counter() - t0)
    print(
        f"\n### pre-commit path: `refactor --check` on {len(files)} files of codeassist/refactor/"
    )
    print(f"load average (1 min): {os.getloadavg()[0]:.2f}")
    dont_write = os.environ.get("PYTHONDONTWRITEBYTECODE", "unset")
    for label, runs_ in timings.items():
        wall, cpu = min(runs_)
        note = f" (PYTHONDONTWRITEBYTECODE={dont_write})" if label == "as run here" else ""
        print(
            f"end to end (fresh interpreter, {label}{note}), best of 3: {wall:.2f} s wall, "
            f"{cpu:.2f} s CPU"
        )
    print(f"engine alone (refactor_paths, imports done), best of 3: {min(engine):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--corpus",
        default="messy,sparse,stdlib",
        help="comma-separated: messy, sparse, stdlib (both = messy,stdlib; none)",
    )
    parser.add_argument("--messy-files", type=int, default=50, help="files per installed corpus")
    parser.add_argument("--manifest", type=Path, help="messy corpus manifest: reused if present")
    parser.add_argument(
        "--sparse-manifest", type=Path, help="sparse corpus manifest: reused if present"
    )
    parser.add_argument(
        "--density",
        type=parse_density,
        default=(0.01, 0.05),
        help="LOW,HIGH violations per line of the sparse corpus",
    )
    parser.add_argument("--files", type=int, default=100, help="stdlib sample size (0 = all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--ours", default="full,minimal", help="moesuite modes: full,minimal")
    parser.add_argument(
        "--autopep8-jobs",
        default="1,2",
        help="--jobs values for autopep8; the first is the baseline",
    )
    parser.add_argument(
        "--no-baseline-idempotence",
        dest="idempotence",
        action="store_false",
        help="skip the second run of autopep8 and ruff (autopep8 takes minutes on messy files)",
    )
    parser.add_argument("--precommit", type=int, default=0, help="also time --check on N files")
    args = parser.parse_args()
    print("command: OMP_NUM_THREADS=1 " + " ".join([sys.executable, *sys.argv]))
    corpora = set(args.corpus.replace("both", "messy,stdlib").split(","))
    if corpora - {"messy", "sparse", "stdlib", "none"}:
        raise SystemExit(f"--corpus: unknown {sorted(corpora)} (messy, sparse, stdlib, none)")
    if "messy" in corpora:
        run_corpus("messy corpus", *_installed(args, args.manifest, None), args)
    if "sparse" in corpora:
        low, high = args.density
        name = f"sparse corpus ({low}-{high} violations per line)"
        run_corpus(name, *_installed(args, args.sparse_manifest, args.density), args)
    if "stdlib" in corpora:
        run_corpus("stdlib sample", *_stdlib(args), args)
    if args.precommit:
        precommit(args)


if __name__ == "__main__":
    main()
