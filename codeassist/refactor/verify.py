"""The verification gate: parse, AST equivalence up to named safe rewrites, pycodestyle.

Equivalence is settled first by compiling both sources and comparing the code objects with
line and column positions blanked (C speed, no tree walked in Python): equal bytecode, constants
and names means the same behaviour. Only where they differ does the tree comparison run.
The tree comparison compares ``ast.dump`` (no line/column attributes) of the original and the
rewrite after *canonicalising* both trees: each allowed rewrite maps the "before" form to the
"after" form (``x == None`` -> ``x is None``), so a tree that differs only by allowed rewrites
dumps the same. Anything else that changed the tree (a constant, a name, an operator) makes
them differ. Idempotence is checked by the caller, which owns the pipeline
(see `codeassist.refactor.pipeline`).
"""

from __future__ import annotations

import ast
import copy
import re
import types
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import pycodestyle

from codeassist.config import PYCODESTYLE_DEFAULT_IGNORE
from codeassist.refactor.renames import reverse_renames


def _docstring_owner_bodies(tree: ast.AST) -> list[list[ast.stmt]]:
    bodies = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            bodies.append(node.body)
    return bodies


def _docstring_node(body: list[ast.stmt]) -> ast.Constant | None:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        if isinstance(body[0].value.value, str):
            return body[0].value
    return None


def _canon_docstrings(tree: ast.AST) -> int:
    """docstring-whitespace: docstring text compared with runs of whitespace collapsed."""
    count = 0
    for body in _docstring_owner_bodies(tree):
        node = _docstring_node(body)
        if node is not None:
            collapsed = " ".join(node.value.split())
            count += collapsed != node.value
            node.value = collapsed
    return count


def _canon_none_comparison(tree: ast.AST) -> int:
    """none-comparison: ``x == None`` -> ``x is None``, ``x != None`` -> ``x is not None``."""
    count = 0
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for i, op in enumerate(node.ops):
            pair = operands[i], operands[i + 1]
            if any(isinstance(o, ast.Constant) and o.value is None for o in pair):
                if isinstance(op, ast.Eq):
                    node.ops[i] = ast.Is()
                    count += 1
                elif isinstance(op, ast.NotEq):
                    node.ops[i] = ast.IsNot()
                    count += 1
    return count


class _NotIn(ast.NodeTransformer):
    count = 0

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        inner = node.operand
        if (
            isinstance(node.op, ast.Not)
            and isinstance(inner, ast.Compare)
            and len(inner.ops) == 1
            and isinstance(inner.ops[0], ast.In | ast.Is)
        ):
            self.count += 1
            negated = ast.NotIn() if isinstance(inner.ops[0], ast.In) else ast.IsNot()
            return ast.Compare(left=inner.left, ops=[negated], comparators=inner.comparators)
        return node


def _canon_not_in(tree: ast.AST) -> int:
    """not-in-test: ``not x in y`` -> ``x not in y`` and ``not x is y`` -> ``x is not y``."""
    transformer = _NotIn()
    transformer.visit(tree)
    return transformer.count


class _LambdaToDef(ast.NodeTransformer):
    count = 0

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        if (
            len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Lambda)
        ):
            self.count += 1
            return ast.FunctionDef(
                name=node.targets[0].id,
                args=node.value.args,
                body=[ast.Return(value=node.value.body)],
                decorator_list=[],
                returns=None,
                type_comment=None,
                type_params=[],
            )
        return node


def _canon_lambda_to_def(tree: ast.AST) -> int:
    """lambda-assignment-to-def: ``f = lambda x: e`` -> ``def f(x): return e``."""
    transformer = _LambdaToDef()
    transformer.visit(tree)
    return transformer.count


def _canon_bare_except(tree: ast.AST) -> int:
    """bare-except: ``except:`` -> ``except BaseException:`` (catches exactly the same)."""
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and node.type is None:
            node.type = ast.Name(id="BaseException", ctx=ast.Load())
            count += 1
    return count


def _canon_split_imports(tree: ast.AST) -> int:
    """import-split: ``import a, b`` -> ``import a`` + ``import b`` (E401): same bindings, same
    order of execution."""
    count = 0
    for node in ast.walk(tree):
        for name, value in ast.iter_fields(node):
            if not isinstance(value, list) or not value or not isinstance(value[0], ast.stmt):
                continue
            flat: list[ast.stmt] = []
            for stmt in value:
                if isinstance(stmt, ast.Import) and len(stmt.names) > 1:
                    count += 1
                    flat.extend(ast.Import(names=[alias]) for alias in stmt.names)
                else:
                    flat.append(stmt)
            setattr(node, name, flat)
    return count


def _canon_ellipsis_body(tree: ast.AST) -> int:
    """ellipsis-body-to-pass: a class whose whole body is ``...`` gets ``pass`` (both are
    statements without effect)."""
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and len(node.body) == 1:
            stmt = node.body[0]
            if (
                isinstance(stmt, ast.Expr)
                and isinstance(stmt.value, ast.Constant)
                and stmt.value.value is Ellipsis
            ):
                node.body = [ast.Pass()]
                count += 1
    return count


def _canon_u_prefix(tree: ast.AST) -> int:
    """u-string-prefix: ``u"x"`` -> ``"x"`` (the prefix means nothing in Python 3; the
    formatter drops it)."""
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.kind == "u":
            node.kind = None
            count += 1
    return count


# The allow-list: name -> canonicaliser (mutates a tree, returns how many sites it rewrote).
# Order matters only where rewrites nest; none of these interact.
ALLOWED_REWRITES: dict[str, Callable[[ast.AST], int]] = {
    "docstring-whitespace": _canon_docstrings,
    "none-comparison": _canon_none_comparison,
    "not-in-test": _canon_not_in,
    "lambda-assignment-to-def": _canon_lambda_to_def,
    "bare-except": _canon_bare_except,
    "import-split": _canon_split_imports,
    "ellipsis-body-to-pass": _canon_ellipsis_body,
    "u-string-prefix": _canon_u_prefix,
}


@dataclass(frozen=True)
class Equivalence:
    """Outcome of comparing two trees.

    Attributes:
        equal: The trees are equal after canonicalising the allowed rewrites.
        rewrites: Allowed rewrites that account for differences, with how many sites each.
        reason: Why they are not equal (empty when equal).
    """

    equal: bool
    rewrites: tuple[tuple[str, int], ...] = ()
    reason: str = ""


def parse_source(source: str) -> ast.Module:
    """Parse without executing anything; SyntaxWarnings (invalid escapes) are silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source)


def _first_difference(a: str, b: str) -> str:
    index = next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )
    return f"AST differs near ...{a[max(0, index - 60) : index + 40]}..."


def compare_trees(
    original: ast.Module, rewritten: ast.Module, *, copy_trees: bool = True
) -> Equivalence:
    """Compare two module trees up to the allowed rewrites; the inputs are left as they were
    unless ``copy_trees`` is False (then they are canonicalised in place)."""
    if ast.dump(original) == ast.dump(rewritten):
        return Equivalence(True)
    # Canonicalising mutates; callers that parsed the trees themselves may skip the copies.
    before, after = (
        (copy.deepcopy(original), copy.deepcopy(rewritten)) if copy_trees else (original, rewritten)
    )
    used = []
    # Most rewrites differ from their original only in docstring whitespace (the formatter
    # re-indents docstrings): settle that case with one canonicaliser before running them all.
    docstrings = abs(_canon_docstrings(before) - _canon_docstrings(after))
    if docstrings:
        used.append(("docstring-whitespace", docstrings))
    if ast.dump(before) == ast.dump(after):
        return Equivalence(True, rewrites=tuple(used))
    # Renames pair the two trees, so they are undone on the rewrite before the one-sided
    # canonicalisers run; `reverse_renames` judges each rename's safety itself.
    renamed = reverse_renames(before, after)
    if renamed:
        used.append(("ambiguous-local-rename", renamed))
    for name, canonicalise in ALLOWED_REWRITES.items():
        if name == "docstring-whitespace":
            continue  # done above
        sites_before, sites_after = canonicalise(before), canonicalise(after)
        if sites_before != sites_after:
            used.append((name, abs(sites_before - sites_after)))
    dump_before, dump_after = ast.dump(before), ast.dump(after)
    if dump_before != dump_after:
        return Equivalence(False, reason=_first_difference(dump_before, dump_after))
    return Equivalence(True, rewrites=tuple(used))


def _compiled(source: str) -> types.CodeType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # dont_inherit: this module's own __future__ imports must not change the compilation
        return compile(source, "<source>", "exec", dont_inherit=True)


def _without_positions(code: types.CodeType) -> types.CodeType:
    """The code object with line numbers and column positions blanked, nested ones too."""
    consts = tuple(
        _without_positions(c) if isinstance(c, types.CodeType) else c for c in code.co_consts
    )
    return code.replace(co_firstlineno=1, co_linetable=b"", co_consts=consts)


# Named rewrites that compile to the same code (a u"" prefix, "import a, b", a "..." body) are
# still reported to the user: sources that may hold one take the tree comparison, which counts
# them. A cheap textual test on the original; a false hit only costs the slower comparison.
_SAME_CODE_REWRITES = re.compile(
    r"(?<![\w'\"])[uU]['\"]|^[ \t]*import [^#\n]*,|:[ \t]*\.\.\.", re.MULTILINE
)


def same_bytecode(original: str, rewritten: str) -> bool:
    """Both sources compile to the same code up to line and column positions (False also
    when either does not compile)."""
    try:
        return _without_positions(_compiled(original)) == _without_positions(_compiled(rewritten))
    except (SyntaxError, ValueError):
        return False


def check_equivalent(original: str, rewritten: str) -> Equivalence:
    """Compare two sources (see the module docstring); a rewrite that does not parse is not
    equivalent."""
    if original == rewritten:
        return Equivalence(True)
    if not _SAME_CODE_REWRITES.search(original) and same_bytecode(original, rewritten):
        return Equivalence(True)
    try:
        rewritten_tree = parse_source(rewritten)
    except SyntaxError as exc:
        return Equivalence(False, reason=f"rewrite does not parse: line {exc.lineno}: {exc.msg}")
    return compare_trees(parse_source(original), rewritten_tree, copy_trees=False)


@dataclass(frozen=True)
class StyleViolation:
    """One pycodestyle finding."""

    line: int
    column: int
    code: str
    message: str


class _Collect(pycodestyle.BaseReport):
    def __init__(self, options) -> None:
        super().__init__(options)
        self.found: list[StyleViolation] = []

    def error(self, line_number, offset, text, check):
        code = text[:4]
        if self._ignore_code(code):
            return None
        self.found.append(StyleViolation(line_number, offset + 1, code, text[5:]))
        return code


_STYLE_GUIDES: dict[int, pycodestyle.StyleGuide] = {}


def pycodestyle_violations(source: str, max_line_length: int) -> list[StyleViolation]:
    """Run pycodestyle with its default configuration except ``max-line-length``.

    The default ignore list stays in force (see
    `codeassist.config.PYCODESTYLE_DEFAULT_IGNORE`).
    """
    guide = _STYLE_GUIDES.get(max_line_length)
    if guide is None:
        guide = pycodestyle.StyleGuide(max_line_length=max_line_length, quiet=True)
        assert tuple(guide.options.ignore) == PYCODESTYLE_DEFAULT_IGNORE, guide.options.ignore
        _STYLE_GUIDES[max_line_length] = guide
    report = _Collect(guide.options)
    lines = source.splitlines(keepends=True)
    checker = pycodestyle.Checker(lines=lines, options=guide.options, report=report)
    checker.check_all()
    return report.found
