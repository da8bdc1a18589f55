"""Cyclomatic complexity per function (McCabe, via the mccabe package), read from the syntax
tree: the analysed code is never imported or run."""

from __future__ import annotations

import ast
from dataclasses import dataclass

import mccabe


@dataclass(frozen=True)
class FunctionComplexity:
    name: str
    line: int
    complexity: int


def function_complexities(source: str) -> list[FunctionComplexity]:
    """Complexity of every function and method, in source order."""
    visitor = mccabe.PathGraphingAstVisitor()
    visitor.preorder(ast.parse(source), visitor)
    found = [
        FunctionComplexity(graph.entity, graph.lineno, graph.complexity())
        for graph in visitor.graphs.values()
        if not graph.entity.startswith("If ") and graph.entity != "Module"
    ]
    return sorted(found, key=lambda f: f.line)
