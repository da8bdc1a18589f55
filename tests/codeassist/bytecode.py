"""An equivalence check independent of the refactor gate: compiled code, not syntax trees.

The gate (`codeassist.refactor.verify.check_equivalent`) compares ASTs up to its named
rewrites; a test
that confirms a refactor with that same function mirrors the product, and a gate grown too
permissive would be trusted by its own tests. Here both sources are compiled by CPython and
their code objects compared field by field, ignoring only where each instruction came from
(line numbers and column positions): a rewrite that changes what runs changes the bytecode.
The one difference let through is whitespace inside docstrings, which the formatter re-indents
and the project accepts (`__doc__` is text for people).
"""

from __future__ import annotations

import ast
import dis
import types
import warnings
from typing import Any

# Everything that decides what a code object does; co_firstlineno, co_linetable and
# co_positions() only say where it came from, so layout changes may move them.
_FIELDS = (
    "co_name",
    "co_qualname",
    "co_argcount",
    "co_posonlyargcount",
    "co_kwonlyargcount",
    "co_flags",
    "co_names",
    "co_varnames",
    "co_freevars",
    "co_cellvars",
)


def _docstrings(source: str) -> set[str]:
    tree = ast.parse(source)
    owners = [tree, *(n for n in ast.walk(tree) if isinstance(n, _DOC_OWNERS))]
    return {doc for n in owners if (doc := ast.get_docstring(n, clean=False)) is not None}


_DOC_OWNERS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _const(value: Any, docs: frozenset[str]) -> Any:
    if isinstance(value, types.CodeType):
        return code_fingerprint(value, docs)
    if isinstance(value, tuple | frozenset):
        return type(value).__name__, tuple(_const(v, docs) for v in value)
    if isinstance(value, str) and value in docs:
        return "docstring", " ".join(value.split())
    return type(value).__name__, repr(value)  # repr: 0.0 vs -0.0, 1 vs True stay apart


def _instructions(code: types.CodeType, docs: frozenset[str]) -> tuple:
    """The instructions without NOPs, jump targets as instruction indexes.

    CPython keeps a NOP where a statement on its own line would otherwise leave no trace for
    line events, so joining or splitting lines adds or removes NOPs and shifts offsets.
    """
    kept = [i for i in dis.get_instructions(code) if i.opname != "NOP"]
    index_at = {i.offset: k for k, i in enumerate(kept)}
    offsets = sorted(index_at)

    def target(offset: int) -> int:  # a jump to a removed NOP lands on the next instruction
        return index_at[next(o for o in offsets if o >= offset)]

    jumps = set(dis.hasjrel) | set(dis.hasjabs)
    return tuple(
        (i.opname, target(i.argval) if i.opcode in jumps else _const(i.argval, docs))
        for i in kept
    )


def code_fingerprint(code: types.CodeType, docs: frozenset[str] = frozenset()) -> tuple:
    """What `code` does, recursively through nested functions and classes; string constants
    in ``docs`` are compared with their whitespace collapsed."""
    return (
        *(getattr(code, name) for name in _FIELDS),
        _instructions(code, docs),
        tuple(_const(c, docs) for c in code.co_consts),
    )


def compiles_the_same(original: str, rewritten: str) -> bool:
    """Whether both sources compile to the same code, positions aside."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)  # e.g. `is` with a literal in stdlib
        a = compile(original, "<original>", "exec", dont_inherit=True)
        b = compile(rewritten, "<rewritten>", "exec", dont_inherit=True)
    docs = frozenset(_docstrings(original) | _docstrings(rewritten))
    return code_fingerprint(a, docs) == code_fingerprint(b, docs)
