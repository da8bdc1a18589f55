"""Semantic engine: the three obvious bugs, each rule on a buggy case and its clean twin, and the
dynamic cases where a rule must stay quiet."""

import ast
import json
import textwrap

import pytest
from click.testing import CliRunner

from codeassist.defects.detect import detect_source
from codeassist.defects.findings import DetectOptions
from codeassist.defects.semantic import check_semantic
from moesuite.cli import cli

THREE_BUGS = '''\
"""Three obvious bugs a reviewer sees at once."""


def clamp(value, low, high):
    if value < low:
        return low
    if value > high:
        return low
    return value


def average(items):
    total = 0
    for item in items:
        total += item
    return total / len(item)


class Account:
    def __init__(self, owner, balance=0):
        self.owner = owner
        self.balance = balance

    def current(self):
        return self.balanse
'''


def _shown(source: str) -> list:
    """Findings at the default threshold (the learned part off)."""
    return detect_source(source, "t.py", DetectOptions(learned=False))


def _semantic(source: str) -> list:
    return [f for f in _shown(textwrap.dedent(source)) if f.engine == "semantic"]


def _apply(source: str, finding) -> str:
    lines = source.splitlines(keepends=True)
    start = sum(len(x) for x in lines[: finding.line - 1]) + finding.column - 1
    end = sum(len(x) for x in lines[: finding.end_line - 1]) + finding.end_column - 1
    return source[:start] + finding.fix + source[end:]


def test_three_obvious_bugs_found_with_fixes_that_parse():
    findings = _semantic(THREE_BUGS)
    by_line = {f.line: f for f in findings}
    assert sorted(by_line) == [8, 16, 25]
    assert by_line[8].rule_id == "semantic/same-return-in-branches"
    assert by_line[8].fix == "return high"
    assert by_line[16].rule_id == "semantic/loop-variable-after-loop"
    assert by_line[16].fix == "items"
    assert by_line[25].rule_id == "semantic/undefined-self-attribute"
    assert by_line[25].fix == "self.balance"
    assert "self.balance" in by_line[25].message
    fixed = THREE_BUGS
    for finding in sorted(findings, key=lambda f: (f.line, f.column), reverse=True):
        fixed = _apply(fixed, finding)
    ast.parse(fixed)
    assert "return total / len(items)" in fixed
    assert "    if value > high:\n        return high" in fixed
    assert _semantic(fixed) == []  # the fixed file is clean


# (buggy, clean twin, rule): the twin differs only where the bug is.
CASES = [
    (
        """
        class Box:
            def __init__(self):
                self.items = []
            def size(self):
                return len(self.itemz)
        """,
        """
        class Box:
            def __init__(self):
                self.items = []
            def size(self):
                return len(self.items)
        """,
        "undefined-self-attribute",
    ),
    (
        """
        def mean(values):
            total = 0.0
            for value in values:
                total += value
            return total / max(1, len(value))
        """,
        """
        def mean(values):
            total = 0.0
            for value in values:
                total += value
            return total / max(1, len(values))
        """,
        "loop-variable-after-loop",
    ),
    (
        """
        def bound(x, lo, hi):
            if x < lo:
                return lo
            elif x > hi:
                return lo
            return x
        """,
        """
        def bound(x, lo, hi):
            if x < lo:
                return lo
            elif x > hi:
                return hi
            return x
        """,
        "same-return-in-branches",
    ),
    (
        """
        def area(width, height):
            return width * height

        print(area(2, 3, 4))
        """,
        """
        def area(width, height):
            return width * height

        print(area(2, 3))
        """,
        "call-arity",
    ),
    (
        """
        class Shape:
            def __init__(self, width, height=1):
                self.width, self.height = width, height
            def scaled(self, factor):
                return Shape(self.width * factor, heigth=self.height)
        """,
        """
        class Shape:
            def __init__(self, width, height=1):
                self.width, self.height = width, height
            def scaled(self, factor):
                return Shape(self.width * factor, height=self.height)
        """,
        "call-arity",
    ),
    (
        """
        class Greeter:
            def __init__(self):
                self.name = "x"
            def greet(self, other):
                return "hi " + other
            def run(self):
                return self.greet()
        """,
        """
        class Greeter:
            def __init__(self):
                self.name = "x"
            def greet(self, other):
                return "hi " + other
            def run(self):
                return self.greet(self.name)
        """,
        "call-arity",
    ),
    (
        """
        def clean(name):
            name.strip()
            return name
        """,
        """
        def clean(name):
            name = name.strip()
            return name
        """,
        "discarded-pure-call",
    ),
    (
        """
        def ordered(rows):
            sorted(rows)
            return rows
        """,
        """
        def ordered(rows):
            rows.sort()
            return rows
        """,
        "discarded-pure-call",
    ),
]


@pytest.mark.parametrize(("buggy", "clean", "rule"), CASES)
def test_rule_fires_on_bug_and_not_on_clean_twin(buggy, clean, rule):
    found = _semantic(buggy)
    assert [f.rule_id for f in found] == [f"semantic/{rule}"]
    assert 0.75 <= found[0].confidence <= 1.0
    if found[0].fix is not None:
        ast.parse(_apply(textwrap.dedent(buggy), found[0]))
    assert _semantic(clean) == []


def test_fixes_read_as_fixes():
    by_rule = {r: _semantic(b)[0] for b, _, r in CASES if r != "call-arity"}
    assert by_rule["discarded-pure-call"].fix in ("name = name.strip()", "rows = sorted(rows)")
    keyword = _semantic(CASES[4][0])[0]
    assert keyword.fix == "Shape(self.width * factor, height=self.height)"
    assert "did you mean `height`" in keyword.message


# Each is right at run time, or may be: the rule cannot see what supplies the attribute.
QUIET_ATTRIBUTE = {
    "__getattr__": "def __getattr__(self, name):\n        return 1\n",
    "__slots__": "__slots__ = ('balanse',)\n",
    "setattr": "def load(self, d):\n        for k in d:\n            setattr(self, k, d[k])\n",
    "hasattr string": "def ok(self):\n        return hasattr(self, 'balanse')\n",
    "assigned elsewhere": "def reset(self, other):\n        other.balanse = 0\n",
    "__dict__": "def load(self, d):\n        self.__dict__.update(d)\n",
}
ACCOUNT = """
class Account{bases}:
    def __init__(self):
        self.balance = 0

    {extra}
    def current(self):
        return self.balanse
"""


@pytest.mark.parametrize("extra", list(QUIET_ATTRIBUTE.values()), ids=list(QUIET_ATTRIBUTE))
def test_self_attribute_quiet_when_class_is_dynamic(extra):
    source = ACCOUNT.format(bases="", extra=extra.replace("\n", "\n    "))
    assert _semantic(source) == []


@pytest.mark.parametrize(
    "header",
    [
        "from base import Model\n\nclass Account(Model):",  # a base from another module
        "import abc\n\nclass Account(metaclass=abc.ABCMeta):",
        "from attrs import define\n\n@define\nclass Account:",
        "class Account(dict, Unknown):",
    ],
)
def test_self_attribute_quiet_when_ancestry_unknown(header):
    source = ACCOUNT.format(bases="", extra="").replace("class Account:", header)
    assert _semantic(source) == []


def test_self_attribute_follows_bases_in_the_file():
    base = "class Base:\n    def __init__(self):\n        self.balanse = 0\n\n"
    child = ACCOUNT.format(bases="(Base)", extra="")
    assert _semantic(base + child) == []
    assert [f.rule_id for f in _semantic(child.replace("(Base)", "(object)"))] == [
        "semantic/undefined-self-attribute"
    ]
    # A subclass in the file may supply what the base reads.
    subclass = "\n\nclass Savings(Account):\n    balanse = 1\n"
    assert _semantic(ACCOUNT.format(bases="", extra="") + subclass) == []


def test_self_attribute_quiet_under_except_attribute_error():
    guarded = "return self.balanse\n    except AttributeError:\n        return 0"
    source = ACCOUNT.format(bases="", extra="").replace(
        "return self.balanse", "try:\n            " + guarded.replace("\n", "\n    ")
    )
    assert _semantic(source) == []


@pytest.mark.parametrize(
    "source",
    [
        # a break: the loop variable is the element found
        "def f(items):\n    for item in items:\n        if item:\n            break\n"
        "    return len(item)\n",
        # rebound by a later loop over the same name
        "def f(items):\n    for item in items:\n        pass\n    for item in items:\n"
        "        print(len(item))\n",
        # a decorated function may take anything
        "import functools\n\n@functools.cache\ndef area(w, h):\n    return w * h\n\n"
        "area(1, 2, 3)\n",
        # *args and **kwargs
        "def area(*sides, **kw):\n    return sides\n\narea(1, 2, 3, x=1)\n",
        "def area(w, h):\n    return w * h\n\nargs = (1, 2)\narea(*args)\n",
        # the function name is rebound: which one is called is unknown
        "def area(w, h):\n    return w * h\n\nif True:\n    area = max\narea(1, 2, 3)\n",
        # `join` of a thread, `replace` of a path: effects
        "def f(thread, path):\n    thread.join()\n    path.replace('x')\n",
        # called to see whether it raises
        "def f(x):\n    try:\n        abs(x)\n    except TypeError:\n        return 0\n",
        # each bound returned where it is compared
        "def clamp(v, lo, hi):\n    if v < lo:\n        return lo\n    if v > hi:\n"
        "        return hi\n    return v\n",
    ],
)
def test_rules_quiet_on_dynamic_or_deliberate_code(source):
    assert _semantic(source) == []


def test_cli_semantic_flag_and_sarif_rules(tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    (tmp_path / "three.py").write_text(THREE_BUGS)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["detect-defects", "--no-learned", "three.py"])
    assert result.exit_code == 1
    assert "three.py:25:16: semantic/undefined-self-attribute" in result.output
    assert "[fix: self.balance]" in result.output
    quiet = runner.invoke(cli, ["detect-defects", "--no-learned", "--no-semantic", "three.py"])
    assert quiet.exit_code == 0, quiet.output
    sarif = runner.invoke(cli, ["detect-defects", "--no-learned", "--format", "sarif", "."])
    document = json.loads(sarif.output)
    rules = {r["id"]: r for r in document["runs"][0]["tool"]["driver"]["rules"]}
    rule = rules["semantic/loop-variable-after-loop"]
    assert "semantic" in rule["properties"]["tags"]
    assert "ruff" not in rule["shortDescription"]["text"]
    assert "helpUri" not in rule


def test_check_semantic_is_deterministic_and_sorted():
    first = check_semantic(THREE_BUGS, "a.py")
    assert first == check_semantic(THREE_BUGS, "a.py")
    assert [f.line for f in first] == sorted(f.line for f in first)
