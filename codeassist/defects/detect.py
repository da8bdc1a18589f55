"""Detection entry points: `detect_source` for one text, `detect_paths` for files and folders.

Static findings (ruff), semantic findings (`semantic`: deterministic rules on the syntax tree)
and learned findings (code model + classifier) are merged into one list of `Finding`s. The
analysed code is parsed, never imported or run.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from codeassist.defects.errors import SourceError
from codeassist.defects.findings import BUG_KINDS, DetectOptions, Finding
from codeassist.defects.sarif import LEARNED_DESCRIPTIONS
from codeassist.defects.static import STATIC_THRESHOLD, check_source
from core_model.progress import NULL_PROGRESS, Progress


@functools.lru_cache(maxsize=4)
def _learned_engine(code_model_dir: str | None, detector_dir: str | None):
    from codeassist.code_model import load_code_model
    from codeassist.defects.detector import DETECTOR_DIR, check_code_model, load_detector
    from codeassist.defects.gate import load_gate

    directory = Path(detector_dir) if detector_dir else None
    detector = load_detector(directory)
    # A GPU when present; float32 there too, the precision the detector's features were made in.
    model = load_code_model(
        Path(code_model_dir) if code_model_dir else None, device="auto", dtype="float32"
    )
    check_code_model(detector, model, directory)
    return model, detector, load_gate(directory or DETECTOR_DIR)


@contextlib.contextmanager
def limit_threads(threads: int) -> Iterator[None]:
    """Hold torch, the OpenMP/BLAS pools (scikit-learn's gradient boosting predicts on
    OpenMP) and the tokenizer to `threads` threads: a pool wider than the free cores spins
    against other processes (../shared/FIELD_NOTES.md; issue 17 measured a 12x collapse)."""
    from threadpoolctl import threadpool_limits

    from core_model.runtime import set_threads

    set_threads(threads)
    if threads == 1:
        # Read by the tokenizers library at each batch encode.
        os.environ["TOKENIZERS_PARALLELISM"] = "false"
    with threadpool_limits(limits=threads):
        yield


def _every_statement(rows):
    return [True] * len(rows)


def learned_threshold(options: DetectOptions) -> float:
    """The learned detector's calibrated threshold, or ``--min-confidence`` when given."""
    if options.min_confidence is not None:
        return options.min_confidence
    return _learned_engine(options.code_model_dir, options.detector_dir)[1].threshold


def static_threshold(options: DetectOptions) -> float:
    """`STATIC_THRESHOLD`, or ``--min-confidence`` when given: the same static (and semantic)
    findings with or without the learned part, so adding it only ever adds findings."""
    return STATIC_THRESHOLD if options.min_confidence is None else options.min_confidence


def _variant_fix(source: str, feats, i: int, kind: str) -> str | None:
    """The statement with its most natural candidate edit of `kind` applied, if one reads better
    than what is written and parses."""
    best = feats.best_variant(i, kind)
    if best is None or best[1] <= 0:
        return None
    mutation, _ = best
    fixed = mutation.apply(source)
    try:
        ast.parse(fixed)
    except (SyntaxError, ValueError):
        return None
    statement = feats.statements[i]
    return fixed[statement.start : statement.end + len(mutation.mutated) - len(mutation.original)]


def _learned_findings(
    source: str, tree: ast.Module, path: str, options: DetectOptions, threshold: float
):
    from codeassist.defects.detector import statement_features
    from codeassist.defects.fix import propose_fix, reads_as_fix

    model, detector, cheap = _learned_engine(options.code_model_dir, options.detector_dir)
    with limit_threads(options.threads):
        gate = None
        if options.gate > 0:
            gate = lambda rows: detector.score(rows)[0] >= options.gate  # noqa: E731
        # Statements no edit applies to are never scored (they score 0); with the cheap gate
        # only those its facts make suspicious go through the code model (`gate`).
        keep = cheap.keep if cheap is not None and options.cheap_gate else _every_statement
        feats = statement_features(model, [source], [tree], gate=gate, cheap_gate=keep)[0]
        probability, kind_index, _ = detector.score(feats.matrix)
    order = probability.argsort()[::-1][: options.max_findings_per_file]
    findings = []
    for i in order:
        statement = feats.statements[i]
        kind = BUG_KINDS[int(kind_index[i])]
        fix = None
        if probability[i] >= threshold:  # only for reported findings
            # The variants were scored already; the model proposes anew only when none fits.
            fix = _variant_fix(source, feats, int(i), kind)
            if fix is None:
                fix = propose_fix(model, source, statement, kind)
            if fix is not None and not reads_as_fix(source[statement.start : statement.end], fix):
                fix = None
        findings.append(
            Finding(
                path=path,
                line=statement.line,
                column=statement.column,
                rule_id=f"learned/{kind}",
                kind=kind,
                message=f"{LEARNED_DESCRIPTIONS[kind]} (learned detector)",
                confidence=float(probability[i]),
                engine="learned",
                end_line=statement.end_line,
                fix=fix,
            )
        )
    return findings


def detect_source(
    source: str, path: str, options: DetectOptions, pylint_found: list[Finding] | None = None
) -> list[Finding]:
    """Findings for one file's text, at or above the confidence threshold, by position.

    Args:
        source: The file's text.
        path: Name to report.
        options: Engines and threshold.
        pylint_found: With ``options.pylint``, the pylint engine's findings for this file
            when already computed (`detect_paths` runs pylint once over all files).

    Raises:
        SourceError: the text is not valid Python.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise SourceError(path, f"line {exc.lineno}: not valid Python: {exc.msg}") from exc
    except ValueError as exc:
        raise SourceError(path, f"not valid Python: {exc}") from exc
    kept: list[Finding] = []
    if options.static:
        floor = static_threshold(options)
        kept.extend(f for f in check_source(source, path) if f.confidence >= floor)
    if options.semantic:
        from codeassist.defects.semantic import check_semantic

        floor = static_threshold(options)
        kept.extend(f for f in check_semantic(source, path, tree) if f.confidence >= floor)
    if options.pylint:
        from codeassist.defects.pylint_engine import check_pylint

        floor = static_threshold(options)
        found = check_pylint(source, path) if pylint_found is None else pylint_found
        kept.extend(f for f in found if f.confidence >= floor)
    if options.learned:
        threshold = learned_threshold(options)
        found = _learned_findings(source, tree, path, options, threshold)
        kept.extend(f for f in found if f.confidence >= threshold)
    return one_per_line(kept)


def one_per_line(findings: list[Finding]) -> list[Finding]:
    """Of the rule engines' findings (static, semantic, pylint), the most confident of each
    line (the first engine's on a tie): two rules that see one bug report it once. The
    learned detector's findings stay beside them (a bug kind and a proposed fix of its own)."""
    best: dict[int, Finding] = {}
    learned = []
    for f in findings:
        if f.engine == "learned":
            learned.append(f)
        elif f.line not in best or f.confidence > best[f.line].confidence:
            best[f.line] = f
    return sorted([*best.values(), *learned], key=lambda f: (f.line, f.column, f.rule_id))


def detect_paths(
    paths: Iterable[Path | str],
    options: DetectOptions,
    stdin_text: str | None = None,
    progress: Progress = NULL_PROGRESS,
) -> tuple[list[Finding], dict[tuple[str, int], str]]:
    """Findings for files, directories (walked honouring .gitignore) and ``-`` (stdin);
    ``progress`` counts the files checked.

    Returns:
        The findings and, for fingerprints, the text of each flagged line.
    """
    from codeassist.config import DiscoveryOptions
    from codeassist.files import decode_source, discover_files, read_source

    findings: list[Finding] = []
    line_texts: dict[tuple[str, int], str] = {}
    files: list[Path | str] = []
    named = [Path(p) for p in paths if str(p) != "-"]
    if any(str(p) == "-" for p in paths):
        files.append("-")
    files.extend(discover_files(named, DiscoveryOptions()))
    texts: list[tuple[str, str]] = []
    for item in files:
        if item == "-":
            texts.append(("-", decode_source((stdin_text or "").encode("utf-8"), "-").text))
        else:
            if not Path(item).exists():
                raise SourceError(str(item), "no such file or directory")
            texts.append((str(item), read_source(Path(item)).text))
    pylint_found: list[list[Finding] | None] = [None] * len(texts)
    if options.pylint and texts:  # one pylint run for all files: it takes seconds to start
        from codeassist.defects.pylint_engine import check_pylint_files

        pylint_found = list(check_pylint_files([t for _, t in texts], [n for n, _ in texts]))
    progress.stage("detect", total=len(files), unit="files")
    for (name, source), from_pylint in zip(texts, pylint_found, strict=True):
        found = detect_source(source, name, options, from_pylint)
        lines = source.splitlines()
        for f in found:
            if 0 < f.line <= len(lines):
                line_texts[(name, f.line)] = lines[f.line - 1]
        findings.extend(found)
        progress.advance(1)
    return findings, line_texts
