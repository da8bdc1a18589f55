"""What no behaviour-preserving rewrite removes is kept and reported, the rest of the file is
fixed; comment lines inside brackets are re-indented; ambiguous names renamed where provably
safe (issue 20's remaining gaps: fontTools' ttProgram.py, pyparsing's cvt_pyparsing_pep8_names.py).
"""

import ast

import pytest

from codeassist.config import RefactorOptions
from codeassist.refactor.indent import fix_bracket_comments
from codeassist.refactor.pipeline import refactor_source
from codeassist.refactor.renames import plan_renames
from codeassist.refactor.unfixable import string_content_rows
from codeassist.refactor.verify import check_equivalent, pycodestyle_violations
from tests.codeassist.bytecode import compiles_the_same

MODES = [RefactorOptions(), RefactorOptions(minimal=True)]
IDS = ["full", "minimal"]

# A data string whose lines end in spaces (the value a program splits or prints), a docstring
# with trailing spaces (which the formatter may normalise), and ordinary violations around.
STRING_WITH_SPACES = (
    "import os,sys\n"
    "def words():\n"
    '    """Names   \n'
    "    to convert.  \n"
    '    """\n'
    '    text = """alpha beta  \n'
    "gamma \n"
    "  \n"
    'delta"""\n'
    "    return text.split( ) , os, sys\n"
)


@pytest.mark.parametrize("options", MODES, ids=IDS)
def test_whitespace_inside_a_string_is_kept_and_the_rest_fixed(options):
    result = refactor_source(STRING_WITH_SPACES, options, "t.py")
    assert result.status == "changed", result.reason
    out = result.output
    assert "import os\nimport sys\n" in out  # E401 fixed
    assert "text.split()" in out  # E201/E202/E203 fixed
    assert '"""Names\n' in out and "to convert.\n" in out  # the docstring's spaces went
    assert 'text = """alpha beta  \ngamma \n  \ndelta"""' in out  # the data did not
    kept = [k.split(" ", 2)[:2] for k in result.kept]
    assert kept == [[f"{n}:{c}", code] for n, c, code in _string_rows(out)]
    assert all("part of the string's value" in k for k in result.kept)
    left = pycodestyle_violations(out, 79)
    assert {v.code for v in left} <= {"W291", "W293"}
    # Independent of the gate: CPython compiles both the same up to docstring whitespace.
    equivalence = check_equivalent(STRING_WITH_SPACES, out)
    assert equivalence.equal
    assert {name for name, _ in equivalence.rewrites} <= {"docstring-whitespace", "import-split"}
    assert _value_of_text(out) == "alpha beta  \ngamma \n  \ndelta"


def _string_rows(out: str) -> list[tuple[int, int, str]]:
    rows = []
    for n, line in enumerate(out.split("\n"), 1):
        if n in string_content_rows(out) and line != line.rstrip():
            stripped = line.rstrip()
            rows.append((n, len(stripped) + 1 if stripped else 1, "W291" if stripped else "W293"))
    return rows


def _value_of_text(source: str) -> str:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "text":
            return node.value.value
    raise AssertionError("no text assignment")


def test_tabs_inside_a_string_are_kept_and_the_rest_fixed():
    # fontTools' cff.py: a string statement (not a docstring) whose lines are tab-indented;
    # pycodestyle names W191/E101 inside it and E101 on the next, correctly indented line.
    source = (
        "def f(values):\n"
        "    x=1\n"
        '    """\n'
        "\t\tRow 0 holds the first value.\n"
        '\t\t"""\n'
        "    return values\n"
    )
    result = refactor_source(source, RefactorOptions(), "t.py")
    assert result.status == "changed", result.reason
    assert "    x = 1\n" in result.output and "\t\tRow 0" in result.output
    kept = [k.split(" ", 2)[:2] for k in result.kept]
    assert kept == [["4:1", "W191"], ["4:1", "E101"], ["5:1", "W191"], ["6:1", "E101"]]
    assert "after a string with tab-indented content" in result.kept[-1]
    assert compiles_the_same(source, result.output)


def test_string_content_rows_leave_out_docstrings_and_last_lines():
    source = 'def f():\n    """a  \n    b"""\n    return """x  \ny  \nz"""  \n'
    assert string_content_rows(source) == {4, 5}


def test_trailing_whitespace_hidden_by_a_noqa_is_still_reported():
    # pycodestyle skips every physical check of a string whose last line has a noqa comment
    source = 'X = """a  \nb"""  # ' + "noqa: E501\n"
    result = refactor_source(source, RefactorOptions(), "t.py")
    assert result.status == "unchanged", result.reason
    assert [k.split(" ", 2)[:2] for k in result.kept] == [["1:9", "W291"]]


# fontTools' instruction tables: comment lines at column 0 inside the brackets, in a region
# the formatter must leave alone.
TABLE = (
    "# fmt: off\n"
    "table = [\n"
    "#\n"
    "#   code  name\n"
    "#\n"
    "    (0x40,  'NPUSHB'),   # n\n"
    "    (0x41,  'NPUSHW'),\n"
    "# the last row\n"
    "    (0xb0,  'PUSHB'),\n"
    "# closing\n"
    "]\n"
    "# fmt: on\n"
)


@pytest.mark.parametrize("options", MODES, ids=IDS)
def test_comment_lines_inside_brackets_are_reindented(options):
    assert {v.code for v in pycodestyle_violations(TABLE, 79)} >= {"E122"}
    result = refactor_source(TABLE, options, "t.py")
    assert result.status == "changed", result.reason
    lines = result.output.split("\n")
    assert lines[2:5] == ["    #", "    #   code  name", "    #"]
    assert lines[7] == "    # the last row" and lines[9] == "    # closing"
    # the rows themselves keep their hand alignment
    assert "    (0x40,  'NPUSHB'),   # n" in lines and "    (0xb0,  'PUSHB')," in lines
    assert pycodestyle_violations(result.output, 79) == []
    assert compiles_the_same(TABLE, result.output)


def test_fix_bracket_comments_touches_only_named_comment_lines():
    source = "x = [\n# a\n    1,\n# b\n]\n# c\ny = (1,\n# d\n     2)\n"
    assert fix_bracket_comments(source, [2, 4, 6, 8]) == (
        "x = [\n    # a\n    1,\n    # b\n]\n# c\ny = (1,\n     # d\n     2)\n"
    )
    assert fix_bracket_comments(source, [4]) == source.replace("\n# b", "\n    # b")
    assert fix_bracket_comments(source, []) == source


@pytest.mark.parametrize(
    "source",
    [
        "def f(x):\n    l = dir(x)\n    return l\n",  # dir(x) reads x, not the locals
        "def f(x):\n    l = vars(x)\n    return l\n",
        "import numpy as np\n\n\ndef f(x):\n    l = np.stack(x)\n    return l\n",
        "class A:\n    def f(self):\n        l = self.stack\n        return l\n",
    ],
)
def test_ambiguous_local_renamed_when_provably_safe(source):
    result = refactor_source(source, RefactorOptions(), "t.py")
    assert result.status == "changed", result.reason
    assert "l_ = " in result.output and result.kept == ()
    assert pycodestyle_violations(result.output, 79) == []
    assert ("ambiguous-local-rename", 1) in result.rewrites


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("def f(x):\n    l = 1\n    return dir()\n", "dir()"),
        ("def f(x):\n    l = 1\n    return vars()\n", "vars()"),
        ("import inspect\n\n\ndef f():\n    l = 1\n    return inspect.stack()\n", "stack"),
        ("from inspect import stack\n\n\ndef f():\n    l = 1\n    return stack()\n", "stack"),
        ("import sys\n\n\ndef f():\n    l = 1\n    return sys._getframe()\n", "_getframe"),
    ],
)
def test_ambiguous_local_kept_where_the_frame_is_read(source, why):
    _, refused = plan_renames(ast.parse(source))
    assert len(refused) == 1 and why in refused[0][1]
    result = refactor_source(source, RefactorOptions(), "t.py")
    assert result.status in ("changed", "unchanged"), result.reason
    assert "l_" not in result.output
    assert len(result.kept) == 1 and why in result.kept[0]
    # and the gate refuses the rename it would not make
    assert not check_equivalent(source, source.replace("l = 1", "l_ = 1")).equal


def test_kept_parameter_says_why():
    result = refactor_source("def f(s, l, t):\n    return l\n", RefactorOptions(), "t.py")
    assert result.kept == (
        "1:10 E741 ambiguous variable name 'l': kept, "
        "'l' is a parameter (keyword callers would break)",
    )
