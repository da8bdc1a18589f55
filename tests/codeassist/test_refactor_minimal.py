"""--minimal (only the lines pycodestyle names change) and --quote-style preserve."""

import difflib
from pathlib import Path

import pytest

from codeassist.config import ProjectConfig, RefactorOptions, resolve_options
from codeassist.refactor.errors import RefactorConfigError
from codeassist.refactor.pipeline import refactor_source
from codeassist.refactor.verify import check_equivalent, pycodestyle_violations

CASES = Path(__file__).parent / "cases" / "minimal"
MINIMAL = RefactorOptions(minimal=True)


def _kept_in_order(lines: list[str], output: str) -> list[str]:
    """The ``lines`` not found, in order and byte for byte, among ``output``'s lines."""
    out = iter(output.splitlines())
    return [line for line in lines if not any(o == line for o in out)]


@pytest.mark.parametrize("case", sorted(CASES.glob("*.py.in")), ids=lambda p: p.name)
def test_minimal_case_files(case):
    source = case.read_text()
    expected = case.with_name(case.name[: -len(".in")] + ".out").read_text()
    result = refactor_source(source, MINIMAL, str(case))
    assert result.output == expected
    assert pycodestyle_violations(result.output, 79) == []
    assert check_equivalent(source, result.output).equal


@pytest.mark.parametrize("case", sorted(CASES.glob("*.py.in")), ids=lambda p: p.name)
def test_minimal_touches_only_named_lines(case):
    source = case.read_text()
    named = {v.line for v in pycodestyle_violations(source, 79)}
    result = refactor_source(source, MINIMAL, str(case))
    assert result.status == "changed"
    lines = source.splitlines()
    unnamed = [line for n, line in enumerate(lines, 1) if n not in named and line.strip()]
    assert _kept_in_order(unnamed, result.output) == []
    # each line named for what is on it (not for blank lines around it, E30x) was rewritten
    on_line = {v.line for v in pycodestyle_violations(source, 79) if not v.code.startswith("E30")}
    assert [lines[n - 1] for n in on_line if lines[n - 1] in result.output.splitlines()] == []
    # the untouched lines keep their single quotes and the author's wrapping, byte for byte
    assert "TABLE = {'alpha': 1,\n         'beta': 2}   # aligned by hand\n" in result.output


def test_minimal_is_idempotent_and_fixes_named_lines():
    source = (CASES / "legacy_module.py.in").read_text()
    once = refactor_source(source, MINIMAL, "t.py")
    assert "def lookup(key, default=None):" in once.output
    assert "if key is None:" in once.output
    twice = refactor_source(once.output, MINIMAL, "t.py")
    assert twice.status == "unchanged"


def test_minimal_diff_is_smaller_than_full():
    source = (CASES / "legacy_module.py.in").read_text()
    full = refactor_source(source, RefactorOptions(), "t.py").output
    minimal = refactor_source(source, MINIMAL, "t.py").output

    def changed(after: str) -> int:
        diff = difflib.unified_diff(source.splitlines(), after.splitlines(), lineterm="", n=0)
        return sum(1 for d in diff if d[:1] in "+-" and d[:3] not in ("+++", "---"))

    assert changed(minimal) < changed(full)
    assert "GREETING = 'hello'" in minimal and 'GREETING = "hello"' in full


def test_quote_style_preserve_keeps_single_quotes_in_full_mode():
    source = "x = {'a':1,\n  \"b\": 2}\ny='it'\n"
    preserved = refactor_source(source, RefactorOptions(quote_style="preserve"), "t.py")
    assert preserved.output == "x = {'a': 1, \"b\": 2}\ny = 'it'\n"
    double = refactor_source(source, RefactorOptions(), "t.py")
    assert double.output == 'x = {"a": 1, "b": 2}\ny = "it"\n'


def test_minimal_and_quote_style_from_pyproject_and_flags(tmp_path):
    config = ProjectConfig(
        tmp_path / "pyproject.toml", {"minimal": True, "quote-style": "preserve"}
    )
    options, _, _ = resolve_options({}, config)
    assert options.minimal and options.quote_style == "preserve"
    options, _, _ = resolve_options({"minimal": False}, config)
    assert not options.minimal
    with pytest.raises(RefactorConfigError, match="quote-style"):
        resolve_options({}, ProjectConfig(tmp_path / "pyproject.toml", {"quote-style": "x"}))
    with pytest.raises(RefactorConfigError, match="minimal"):
        RefactorOptions(style="black", minimal=True)
