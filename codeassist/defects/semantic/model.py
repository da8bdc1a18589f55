"""What the semantic rules share: the file's facts (names bound, attributes stored, strings), a
class's resolvable ancestry, and findings whose fix is spliced into the text and must parse.

Everything here reads the syntax tree of one file; nothing is imported or run. A rule that cannot
see everything it needs (a base class from another module, a decorator, ``setattr``) stays silent.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass
from functools import cached_property

from codeassist.defects.findings import Finding

# Attributes every instance has, whatever its class says.
OBJECT_ATTRIBUTES = frozenset(dir(object)) | {
    "__dict__",
    "__weakref__",
    "__module__",
    "__annotations__",
    "__orig_class__",
}
# Bases whose attributes are known without reading another file: the builtin types (and
# exceptions), by their own ``dir``.
BUILTIN_TYPES: dict[str, frozenset[str]] = {
    name: frozenset(dir(value))
    for name, value in vars(builtins).items()
    if isinstance(value, type) and not name.startswith("_")
}
# Names a class body or method uses to gain attributes the text never writes as ``x.name = ...``.
DYNAMIC_NAMES = frozenset({"setattr", "vars", "__import__", "exec", "eval"})
DYNAMIC_ATTRIBUTES = frozenset({"__dict__", "__setattr__", "__getattr__", "__getattribute__"})
DYNAMIC_MEMBERS = frozenset({"__getattr__", "__getattribute__", "__slots__", "__setattr__"})
# Class decorators known to add no attribute the class body does not declare.
PLAIN_CLASS_DECORATORS = frozenset({"dataclass", "dataclasses.dataclass", "total_ordering"})


def dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def decorator_name(node: ast.expr) -> str | None:
    """The dotted name of a decorator, called or not (``@dataclass(frozen=True)``)."""
    return dotted(node.func if isinstance(node, ast.Call) else node)


def walk_scope(node: ast.AST):
    """The nodes of one function or module body, not entering nested defs, classes or lambdas."""
    todo = list(ast.iter_child_nodes(node))
    while todo:
        child = todo.pop()
        yield child
        if not isinstance(
            child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda
        ):
            todo.extend(ast.iter_child_nodes(child))


@dataclass
class FileFacts:
    """Facts about the whole file that make a rule hold back."""

    tree: ast.Module
    source: str

    @cached_property
    def lines(self) -> list[str]:
        return source_lines(self.source)

    @cached_property
    def nodes(self) -> list[ast.AST]:
        return list(ast.walk(self.tree))

    @cached_property
    def stored_attributes(self) -> frozenset[str]:
        """Attribute names assigned or deleted on anything, anywhere in the file."""
        return frozenset(
            n.attr
            for n in self.nodes
            if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store | ast.Del)
        )

    @cached_property
    def strings(self) -> frozenset[str]:
        """String constants that could name an attribute (``getattr(self, "x")``, ``__slots__``)."""
        return frozenset(
            n.value
            for n in self.nodes
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.isidentifier()
        )

    @cached_property
    def binding_counts(self) -> dict[str, int]:
        """How often each name is bound anywhere in the file (defs, classes, assignments,
        imports, parameters, ``global``/``nonlocal``)."""
        counts: dict[str, int] = {}

        def bump(name: str) -> None:
            counts[name] = counts.get(name, 0) + 1

        for n in self.nodes:
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                bump(n.name)
            elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store | ast.Del):
                bump(n.id)
            elif isinstance(n, ast.alias):
                bump((n.asname or n.name).split(".")[0])
            elif isinstance(n, ast.arg):
                bump(n.arg)
            elif isinstance(n, ast.Global | ast.Nonlocal):
                for name in n.names:
                    bump(name)
            elif isinstance(n, ast.ExceptHandler) and n.name:
                bump(n.name)
            elif isinstance(n, ast.MatchAs | ast.MatchStar) and n.name:
                bump(n.name)
        return counts

    @cached_property
    def inside_try(self) -> frozenset[int]:
        """ids of the statements directly in a ``try`` body (not its handlers)."""
        return frozenset(
            id(statement)
            for n in self.nodes
            if isinstance(n, ast.Try | ast.TryStar)
            for statement in n.body
        )

    @cached_property
    def class_body_names(self) -> frozenset[str]:
        """Names bound directly in any class body of the file (a subclass may define what its
        base reads)."""
        names: set[str] = set()
        for n in self.nodes:
            if isinstance(n, ast.ClassDef):
                names.update(body_names(n))
        return frozenset(names)

    @cached_property
    def classes(self) -> dict[str, ast.ClassDef]:
        """Classes by name, for the names bound exactly once in the file (a base is resolved
        only when there is no doubt which class it is)."""
        found = {}
        for n in self.nodes:
            if isinstance(n, ast.ClassDef) and self.binding_counts.get(n.name) == 1:
                found[n.name] = n
        return found

    @cached_property
    def functions(self) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
        """Module-level functions whose name is bound exactly once in the file."""
        return {
            n.name: n
            for n in self.tree.body
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            and self.binding_counts.get(n.name) == 1
        }

    @cached_property
    def method_names(self) -> dict[str, int]:
        """How many classes of the file define a method of each name."""
        counts: dict[str, int] = {}
        for n in self.nodes:
            if isinstance(n, ast.ClassDef):
                for item in n.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        counts[item.name] = counts.get(item.name, 0) + 1
        return counts

    def class_is_closed(self, node: ast.ClassDef) -> bool:
        """Whether every attribute the class (and its ancestry) can have is written in this file:
        no metaclass or unknown decorator, no ``__getattr__``/``__slots__``/``setattr``
        dynamics, and every base a builtin type or such a class of this file."""
        return self.ancestry(node) is not None

    def ancestry(self, node: ast.ClassDef, seen: frozenset[str] = frozenset()) -> list | None:
        """The class and its resolvable ancestors (ClassDefs, or builtin type names), or None
        when any of them could gain attributes this file does not show."""
        if node.name in seen or node.keywords:
            return None
        if any(decorator_name(d) not in PLAIN_CLASS_DECORATORS for d in node.decorator_list):
            return None
        if body_names(node) & DYNAMIC_MEMBERS:
            return None
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and n.id in DYNAMIC_NAMES:
                return None
            if isinstance(n, ast.Attribute) and n.attr in DYNAMIC_ATTRIBUTES:
                return None
        chain: list = [node]
        for base in node.bases:
            name = dotted(base)
            if name in BUILTIN_TYPES and self.binding_counts.get(name, 0) == 0:
                chain.append(name)
                continue
            resolved = self.classes.get(name or "")
            if resolved is None:
                return None
            above = self.ancestry(resolved, seen | {node.name})
            if above is None:
                return None
            chain.extend(above)
        return chain


def body_names(node: ast.ClassDef) -> set[str]:
    """Names a class body binds itself (assignments, defs, imports), not entering methods."""
    names: set[str] = set()
    todo: list[ast.AST] = list(node.body)
    while todo:
        child = todo.pop()
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(child.name)
            continue
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
            names.add(child.id)
        elif isinstance(child, ast.alias):
            names.add((child.asname or child.name).split(".")[0])
        todo.extend(ast.iter_child_nodes(child))
    return names


def splice(source: str, node: ast.AST, text: str) -> str | None:
    """The source with `node`'s span replaced by `text`, if the result parses."""
    lines = source_lines(source, keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    begin = starts[node.lineno - 1] + _char_offset(lines[node.lineno - 1], node.col_offset)
    end_line = node.end_lineno or node.lineno
    end = starts[end_line - 1] + _char_offset(lines[end_line - 1], node.end_col_offset or 0)
    fixed = source[:begin] + text + source[end:]
    try:
        ast.parse(fixed)
    except (SyntaxError, ValueError):
        return None
    return fixed


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def source_lines(source: str, keepends: bool = False) -> list[str]:
    """The lines as the parser numbers them (``str.splitlines`` also breaks at form feeds)."""
    pieces = _LINE_BREAK.split(source)
    if not keepends:
        return pieces
    breaks = _LINE_BREAK.findall(source) + [""]
    return [p + b for p, b in zip(pieces, breaks, strict=True)]


def _char_offset(line: str, byte_offset: int) -> int:
    # ast columns are UTF-8 byte offsets.
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", errors="replace"))


def make_finding(
    facts: FileFacts,
    path: str,
    node: ast.AST,
    rule: str,
    message: str,
    confidence: float,
    fix: str | None = None,
) -> Finding:
    """A semantic finding over `node`'s span; `fix` replaces that span and is kept only when the
    fixed file parses."""
    if fix is not None and splice(facts.source, node, fix) is None:
        fix = None
    lines = facts.lines
    line = lines[node.lineno - 1]
    end_line = node.end_lineno or node.lineno
    end_text = lines[end_line - 1]
    return Finding(
        path=path,
        line=node.lineno,
        column=_char_offset(line, node.col_offset) + 1,
        rule_id=f"semantic/{rule}",
        kind=rule,
        message=message,
        confidence=confidence,
        engine="semantic",
        end_line=end_line,
        end_column=_char_offset(end_text, node.end_col_offset or 0) + 1,
        fix=fix,
    )
