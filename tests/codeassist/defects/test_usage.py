"""Usage facts the learned detector gets from outside a statement's window: a wrong variable or
attribute leaves traces in the rest of the function and file, and correct code does not."""

import ast

import numpy as np

from codeassist.defects.statements import SourceIndex, list_statements
from codeassist.defects.usage import N_NAME_FACTS, USAGE_FEATURES, usage_features

CLEAN = """import os

COUNTER = 0


def scale(values, factor, limit):
    total = 0
    for value in values:
        if value > limit:
            total = total + value * factor
    return min(total, limit)


def bump():
    global COUNTER
    COUNTER = COUNTER + 1


class Reader:
    size = 4

    def __init__(self, path):
        self.path = path
        self.handle = None

    def open(self):
        self.handle = os.open(self.path, os.O_RDONLY)
        return self.read(self.size)

    def read(self, n):
        return os.read(self.handle, n)
"""


def _facts(source: str, text: str) -> dict[str, float]:
    """Usage facts of the statement of `source` that starts with `text`."""
    index = SourceIndex(source)
    statements = list_statements(ast.parse(source), index)
    matrix = usage_features(ast.parse(source), index, statements)
    rows = [i for i, s in enumerate(statements) if source[s.start : s.end].startswith(text)]
    assert len(rows) == 1, text
    return dict(zip(USAGE_FEATURES, matrix[rows[0]].tolist(), strict=True))


def test_correct_code_leaves_no_trace():
    index = SourceIndex(CLEAN)
    statements = list_statements(ast.parse(CLEAN), index)
    matrix = usage_features(ast.parse(CLEAN), index, statements)
    assert matrix.shape == (len(statements), len(USAGE_FEATURES))
    suspicious = [
        "reads_before_assignment", "repeated_name", "attribute_call_mismatch",
        "self_attribute_never_set", "repeated_attribute",
    ]  # fmt: skip
    for name in suspicious:
        column = matrix[:, USAGE_FEATURES.index(name)]
        assert np.all(np.nan_to_num(column) == 0), (name, column)


def test_wrong_variable_repeats_a_name():
    buggy = CLEAN.replace("total + value * factor", "total + value * value")
    facts = _facts(buggy, "total = total + value * value")
    assert facts["repeated_name"] == 1
    assert facts["local_reads"] == 3
    assert _facts(CLEAN, "total = total + value * factor")["repeated_name"] == 0


def test_wrong_variable_reads_a_name_before_it_is_assigned():
    early = CLEAN.replace("    total = 0\n", "    total = value\n")
    facts = _facts(early, "total = value")
    assert facts["reads_before_assignment"] == 1  # value is only bound by the loop below
    assert facts["names_read_once"] == 0  # value is also read in the loop
    buggy = CLEAN.replace("if value > limit:", "if total > limit:")
    assert _facts(buggy, "if total > limit")["reads_before_assignment"] == 0  # assigned above


def test_a_global_declared_in_the_function_is_not_a_local():
    facts = _facts(CLEAN, "COUNTER = COUNTER + 1")
    assert facts["local_reads"] == 0 and facts["reads_before_assignment"] == 0


def test_name_read_nowhere_else_in_the_function():
    source = "def area(width, height):\n    w = abs(width)\n    h = abs(height)\n    return w * h\n"
    assert _facts(source, "return w * h")["names_read_once"] == 2
    assert _facts(source.replace("w * h", "w * w"), "return w * w")["names_read_once"] == 1


def test_name_facts_are_missing_outside_functions():
    facts = _facts(CLEAN, "COUNTER = 0")
    assert all(np.isnan(facts[name]) for name in USAGE_FEATURES[:N_NAME_FACTS])
    assert facts["attribute_call_mismatch"] == 0


def test_wrong_attribute_called_where_it_is_data_elsewhere():
    buggy = CLEAN.replace("return self.read(self.size)", "return self.path(self.size)")
    facts = _facts(buggy, "return self.path(self.size)")
    assert facts["attribute_call_mismatch"] == 1
    assert _facts(CLEAN, "return self.read(self.size)")["attribute_call_mismatch"] == 0


def test_self_attribute_read_but_never_set_or_defined():
    buggy = CLEAN.replace("os.read(self.handle, n)", "os.read(self.handel, n)")
    assert _facts(buggy, "return os.read(self.handel, n)")["self_attribute_never_set"] == 1
    # set in __init__, a class attribute, a method: all defined
    assert _facts(CLEAN, "return os.read(self.handle, n)")["self_attribute_never_set"] == 0
    assert _facts(CLEAN, "return self.read(self.size)")["self_attribute_never_set"] == 0


def test_repeated_attribute_in_one_statement():
    buggy = CLEAN.replace("os.open(self.path, os.O_RDONLY)", "os.open(self.path, self.path)")
    assert _facts(buggy, "self.handle = os.open(self.path, self.path)")["repeated_attribute"] == 1


def test_argument_named_as_another_parameter_of_the_callee():
    source = (
        "def area(width, height):\n    return width * height\n\n\n"
        "def box(width, height):\n    return area(height, width)\n"
    )
    assert _facts(source, "return area(height, width)")["argument_named_as_other_parameter"] == 2
    fixed = source.replace("area(height, width)", "area(width, height)")
    assert _facts(fixed, "return area(width, height)")["argument_named_as_other_parameter"] == 0
    keyword = source.replace("area(height, width)", "area(width, height=width)")
    assert (
        _facts(keyword, "return area(width, height=width)")["argument_named_as_other_parameter"]
        == 1
    )
    # a method's self is not a parameter the caller passes
    method = (
        "class Box:\n    def area(self, width, height):\n        return self.area(height, width)\n"
    )
    assert (
        _facts(method, "return self.area(height, width)")["argument_named_as_other_parameter"] == 2
    )


def test_wrong_variable_used_in_a_role_it_has_nowhere_else():
    source = (
        "def first_or_limit(items, limit):\n"
        "    size = len(items)\n"
        "    if size > limit:\n"
        "        return len(items)\n"
        "    return limit\n"
    )
    assert _facts(source, "return len(items)")["name_role_unseen"] == 0  # as in `size = ...`
    buggy = source.replace("return len(items)", "return len(limit)")
    assert _facts(buggy, "return len(limit)")["name_role_unseen"] == 1  # limit: compared, returned
    # a name read nowhere else has no other role to differ from
    alone = "def area(width, height):\n    return width * height\n"
    assert _facts(alone, "return width * height")["name_role_unseen"] == 0


def test_wrong_attribute_used_in_a_role_it_has_nowhere_else():
    source = (
        "class Queue:\n"
        "    def __init__(self):\n"
        "        self.items = []\n"
        "        self.limit = 10\n\n"
        "    def push(self, item):\n"
        "        if len(self.items) >= self.limit:\n"
        "            raise OverflowError(item)\n"
        "        self.items.append(item)\n\n"
        "    def size(self):\n"
        "        return len(self.items)\n"
    )
    clean = _facts(source, "if len(self.items) >= self.limit")
    assert clean["attribute_role_unseen"] == 0
    buggy = source.replace(">= self.limit", ">= self.items")
    assert _facts(buggy, "if len(self.items) >= self.items")["attribute_role_unseen"] == 1
