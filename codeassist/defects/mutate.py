"""Seeded-bug generator: small, realistic mutations of real code (in the manner of DeepBugs).

Each `Mutation` replaces one character span of the source and records what was there, so the
inverse edit is the fix. The kinds are listed in `findings.BUG_KINDS`. A mutant is kept only when
it still parses and its AST differs from the original's.
"""

from __future__ import annotations

import ast
import io
import random
import tokenize
from collections import defaultdict
from dataclasses import dataclass

from codeassist.defects.statements import SourceIndex

# Closed under inversion (if a -> b is listed, so is b -> a): the detector tries these same
# edits on a statement, and must be able to undo any seeded one.
_BINOP_SWAPS: dict[str, tuple[str, ...]] = {
    "+": ("-", "*"),
    "-": ("+",),
    "*": ("/", "+", "**"),
    "/": ("*", "//"),
    "//": ("/", "%"),
    "%": ("//",),
    "<<": (">>",),
    ">>": ("<<",),
    "&": ("|",),
    "|": ("&", "^"),
    "^": ("|",),
    "**": ("*",),
}
_COMPARE_SWAPS: dict[str, tuple[str, ...]] = {
    "<": ("<=", ">"),
    "<=": ("<", ">="),
    ">": (">=", "<"),
    ">=": (">", "<="),
    "==": ("!=",),
    "!=": ("==",),
    "is": ("is not",),
    "is not": ("is",),
    "in": ("not in",),
    "not in": ("in",),
}
_BOOL_SWAPS = {"and": ("or",), "or": ("and",)}


@dataclass(frozen=True)
class Mutation:
    """One seeded bug: replace ``source[start:end]`` (``original``) with ``mutated``.

    Attributes:
        kind: The bug kind (see `findings.BUG_KINDS`).
        start: Character offset where the replaced span starts in the original source.
        end: Character offset where it ends (exclusive).
        original: The original text of the span (the fix puts it back).
        mutated: The text the mutant has instead.
    """

    kind: str
    start: int
    end: int
    original: str
    mutated: str

    def apply(self, source: str) -> str:
        """The mutant source."""
        return source[: self.start] + self.mutated + source[self.end :]

    def invert(self, mutant: str) -> str:
        """The original source back from the mutant (the fix)."""
        end = self.start + len(self.mutated)
        return mutant[: self.start] + self.original + mutant[end:]


def _token_between(
    index: SourceIndex, start: int, end: int, choices: dict
) -> tuple[int, int, str] | None:
    """Find the operator token in ``source[start:end]`` (skipping parentheses and comments)."""
    text = index.source[start:end]
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    words = [t for t in tokens if t.type in (tokenize.OP, tokenize.NAME)]
    words = [t for t in words if t.string not in ("(", ")")]
    if not words:
        return None
    # `is not` / `not in` are two tokens.
    joined = " ".join(t.string for t in words)
    if joined not in choices:
        return None
    local = SourceIndex(text)
    first = local.offset(words[0].start[0], len(words[0].line[: words[0].start[1]].encode()))
    last = local.offset(words[-1].end[0], len(words[-1].line[: words[-1].end[1]].encode()))
    return start + first, start + last, joined


class _Collector(ast.NodeVisitor):
    """Walks a module and lists every possible mutation, by kind."""

    def __init__(self, index: SourceIndex) -> None:
        self.index = index
        self.found: dict[str, list[Mutation]] = defaultdict(list)
        self.attributes: dict[str, set[str]] = defaultdict(set)
        self.called_names: set[str] = set()
        self.scopes: list[set[str]] = []

    def add(self, kind: str, start: int, end: int, mutated: str) -> None:
        original = self.index.source[start:end]
        if original != mutated:
            self.found[kind].append(Mutation(kind, start, end, original, mutated))

    def text(self, node: ast.AST) -> str:
        start, end = self.index.span(node)
        return self.index.source[start:end]

    # Scopes: names bound in a function (parameters and assignments) for wrong_variable.
    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        names = {a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs}
        for child in ast.walk(node):
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                names.add(child.id)
        names.discard("self")
        names.discard("cls")
        self.scopes.append(names)
        self.generic_visit(node)
        self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load) and self.scopes and node.id in self.scopes[-1]:
            others = sorted(self.scopes[-1] - {node.id})
            start, end = self.index.span(node)
            for other in others:
                self.add("wrong_variable", start, end, other)

    def visit_Call(self, node: ast.Call) -> None:
        args = node.args
        simple = (ast.Name, ast.Attribute, ast.Constant, ast.Subscript, ast.UnaryOp)
        if len(args) >= 2 and not any(isinstance(a, ast.Starred) for a in args):
            for i in range(len(args) - 1):
                a, b = args[i], args[i + 1]
                if isinstance(a, simple) and isinstance(b, simple):
                    a0, a1 = self.index.span(a)
                    b0, b1 = self.index.span(b)
                    ta, tb = self.index.source[a0:a1], self.index.source[b0:b1]
                    if ta != tb and "\n" not in self.index.source[a0:b1]:
                        between = self.index.source[a1:b0]
                        self.add("swapped_args", a0, b1, tb + between + ta)
        if isinstance(node.func, ast.Name):
            self.called_names.add(node.func.id)
            if node.func.id == "range" and args and not node.keywords:
                self._off_by_one(args[-1] if len(args) <= 2 else args[1])
        self.generic_visit(node)

    def _off_by_one(self, node: ast.expr) -> None:
        start, end = self.index.span(node)
        text = self.index.source[start:end]
        if "\n" in text:
            return
        if isinstance(node, ast.Constant) and type(node.value) is int:
            self.add("off_by_one", start, end, str(node.value + 1))
            if node.value > 0:
                self.add("off_by_one", start, end, str(node.value - 1))
            return
        if (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Add | ast.Sub)
            and isinstance(node.right, ast.Constant)
            and node.right.value == 1
        ):
            self.add("off_by_one", start, end, self.text(node.left))
            return
        if isinstance(node, ast.Name | ast.Attribute | ast.Call | ast.Subscript):
            self.add("off_by_one", start, end, f"{text} + 1")
            self.add("off_by_one", start, end, f"{text} - 1")

    def visit_Subscript(self, node: ast.Subscript) -> None:
        index_node = node.slice
        if isinstance(index_node, ast.Slice):
            for bound in (index_node.lower, index_node.upper):
                if bound is not None:
                    self._off_by_one(bound)
        elif isinstance(index_node, ast.Constant | ast.Name | ast.BinOp) and isinstance(
            node.ctx, ast.Load
        ):
            # BinOp: only ``x + 1`` / ``x - 1`` yield an edit (back to ``x``), the inverse of
            # the off-by-one seeded on a plain index.
            self._off_by_one(index_node)
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        is_format = isinstance(node.op, ast.Mod) and isinstance(
            node.left, ast.Constant | ast.JoinedStr
        )
        if not is_format:
            _, left_end = self.index.span(node.left)
            right_start, _ = self.index.span(node.right)
            found = _token_between(self.index, left_end, right_start, _BINOP_SWAPS)
            if found is not None:
                a, b, op = found
                for alt in _BINOP_SWAPS[op]:
                    self.add("wrong_binary_operator", a, b, alt)
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        if len(node.ops) == 1:
            _, left_end = self.index.span(node.left)
            right_start, _ = self.index.span(node.comparators[0])
            found = _token_between(self.index, left_end, right_start, _COMPARE_SWAPS)
            if found is not None:
                a, b, op = found
                for alt in _COMPARE_SWAPS[op]:
                    self.add("wrong_comparison", a, b, alt)
        self.generic_visit(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        if len(node.values) == 2:
            _, left_end = self.index.span(node.values[0])
            right_start, _ = self.index.span(node.values[1])
            found = _token_between(self.index, left_end, right_start, _BOOL_SWAPS)
            if found is not None:
                a, b, op = found
                self.add("wrong_boolean_operator", a, b, _BOOL_SWAPS[op][0])
        self.generic_visit(node)

    def _negate(self, test: ast.expr) -> None:
        start, end = self.index.span(test)
        text = self.index.source[start:end]
        if "\n" in text:
            return
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            self.add("negated_condition", start, end, self.text(test.operand))
        elif isinstance(test, ast.BoolOp | ast.NamedExpr | ast.IfExp | ast.Lambda):
            self.add("negated_condition", start, end, f"not ({text})")
        else:
            self.add("negated_condition", start, end, f"not {text}")

    def visit_If(self, node: ast.If) -> None:
        self._negate(node.test)
        self.generic_visit(node)

    def visit_While(self, node: ast.While) -> None:
        self._negate(node.test)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        start, end = self.index.span(node)
        if self.index.source[end - len(node.attr) : end] == node.attr:
            base = self.text(node.value)
            self.attributes[base].add(node.attr)
            self.found["_attribute_sites"].append(
                Mutation("wrong_attribute", end - len(node.attr), end, node.attr, base)
            )
        self.generic_visit(node)

    def visit_Return(self, node: ast.Return) -> None:
        if node.value is not None:
            start, end = self.index.span(node)
            value_start, _ = self.index.span(node.value)
            self.add("dropped_return", start, end, self.index.source[value_start:end])
        self.generic_visit(node)

    def visit_Await(self, node: ast.Await) -> None:
        start, end = self.index.span(node)
        value_start, _ = self.index.span(node.value)
        self.add("dropped_return", start, end, self.index.source[value_start:end])
        self.generic_visit(node)

    def finish(self) -> dict[str, list[Mutation]]:
        """Resolve attribute sites into wrong_attribute mutations (same base, another name)."""
        for site in self.found.pop("_attribute_sites", []):
            base = site.mutated
            for other in sorted(self.attributes[base] - {site.original}):
                self.add("wrong_attribute", site.start, site.end, other)
        return dict(self.found)


def list_mutations(source: str, tree: ast.Module | None = None) -> dict[str, list[Mutation]]:
    """Every mutation the generator could seed in `source`, grouped by kind (unvalidated)."""
    tree = tree if tree is not None else ast.parse(source)
    collector = _Collector(SourceIndex(source))
    collector.visit(tree)
    return collector.finish()


def is_valid_mutant(source_tree: ast.Module, mutant: str) -> bool:
    """True when the mutant parses and its AST differs from the original's."""
    try:
        mutant_tree = ast.parse(mutant)
    except (SyntaxError, ValueError):
        return False
    return ast.dump(mutant_tree) != ast.dump(source_tree)


def sample_mutations(
    source: str, count: int, seed: int, kinds: tuple[str, ...] | None = None
) -> list[Mutation]:
    """Up to `count` valid mutations of `source`, kinds balanced, reproducible from `seed`.

    Args:
        source: Python source text (must parse).
        count: How many mutants to return at most.
        seed: Random seed.
        kinds: Restrict to these kinds (default: all).

    Returns:
        Mutations at distinct spans; apply each one alone with `Mutation.apply`.
    """
    rng = random.Random(seed)
    tree = ast.parse(source)
    by_kind = list_mutations(source, tree)
    pools = {k: list(v) for k, v in sorted(by_kind.items()) if v and (kinds is None or k in kinds)}
    for pool in pools.values():
        rng.shuffle(pool)
    chosen: list[Mutation] = []
    used: set[int] = set()
    tree_dump = ast.dump(tree)
    while pools and len(chosen) < count:
        kind = rng.choice(sorted(pools))
        pool = pools[kind]
        mutation = pool.pop()
        if not pool:
            del pools[kind]
        if mutation.start in used:
            continue
        mutant = mutation.apply(source)
        try:
            if ast.dump(ast.parse(mutant)) == tree_dump:
                continue
        except (SyntaxError, ValueError):
            continue
        used.add(mutation.start)
        chosen.append(mutation)
    return chosen
