"""CLI modes of `refactor` through CliRunner: diff/check/write, exit codes 0/1/2, stdin,
pyproject config, .gitignore/--exclude, encodings and mode bits kept after --write."""

import json
import os
import stat

from click.testing import CliRunner

from moesuite.cli import cli

DIRTY = b"x=[1,2]\r\nif x == None: pass\r\n"
CLEAN = b"x = [1, 2]\n"


def _run(*args, input=None):
    return CliRunner().invoke(cli, ["refactor", *args], input=input)


def test_check_exit_codes_and_write_keeps_crlf_and_bom(tmp_path):
    path = tmp_path / "a.py"
    path.write_bytes(b"\xef\xbb\xbf" + DIRTY)
    assert _run("--check", str(path)).exit_code == 1
    result = _run("--write", str(path))
    assert result.exit_code == 0, result.output
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"x is None" in data
    assert data.count(b"\r\n") == data.count(b"\n")  # every newline is still CRLF
    assert _run("--check", str(path)).exit_code == 0


def test_default_mode_prints_diff_exits_0_and_writes_nothing(tmp_path):
    path = tmp_path / "a.py"
    path.write_bytes(b"x=[1,2]\n")
    result = _run(str(path))
    assert result.exit_code == 0, result.output
    assert "-x=[1,2]" in result.output and "+x = [1, 2]" in result.output
    assert path.read_bytes() == b"x=[1,2]\n"


def test_check_clean_file_exits_0(tmp_path):
    path = tmp_path / "a.py"
    path.write_bytes(CLEAN)
    assert _run("--check", str(path)).exit_code == 0


def test_unparsable_file_exits_2_and_other_files_still_processed(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(:\n")
    good = tmp_path / "good.py"
    good.write_bytes(b"x=[1,2]\n")
    result = _run("--write", str(bad), str(good))
    assert result.exit_code == 2
    assert "bad.py" in result.output
    assert bad.read_text() == "def f(:\n"
    assert good.read_bytes() == CLEAN


def test_undecodable_file_exits_2(tmp_path):
    path = tmp_path / "u.py"
    path.write_bytes(b"x = '\xff\xfe'\n")
    assert _run("--check", str(path)).exit_code == 2


def test_stdin_to_stdout(tmp_path):
    result = _run("-", input=b"x=[1,2]\n")
    assert result.exit_code == 0, result.output
    assert "x = [1, 2]" in result.output
    assert _run("--check", "-", input=b"x=[1,2]\n").exit_code == 1
    assert _run("--check", "-", input=CLEAN).exit_code == 0


def test_latin1_cookie_file_keeps_encoding(tmp_path):
    path = tmp_path / "l.py"
    path.write_bytes(b"# -*- coding: latin-1 -*-\ns='caf\xe9'\n")
    assert _run("--write", str(path)).exit_code == 0
    assert path.read_bytes() == b'# -*- coding: latin-1 -*-\ns = "caf\xe9"\n'


def test_crlf_file_keeps_newlines(tmp_path):
    path = tmp_path / "c.py"
    path.write_bytes(b"x=1\r\ny=2\r\n")
    assert _run("--write", str(path)).exit_code == 0
    assert path.read_bytes() == b"x = 1\r\ny = 2\r\n"


def test_write_keeps_mode_bits(tmp_path):
    path = tmp_path / "m.py"
    path.write_bytes(b"x=1\n")
    os.chmod(path, 0o751)
    assert _run("--write", str(path)).exit_code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o751
    assert path.read_bytes() == b"x = 1\n"


def test_gitignore_and_exclude_honoured(tmp_path):
    (tmp_path / ".gitignore").write_text("ignored/\n")
    for name in ("ignored/a.py", "skipme/b.py", "kept/c.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x=1\n")
    result = _run("--write", "--exclude", "skipme/", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "kept/c.py").read_bytes() == b"x = 1\n"
    assert (tmp_path / "ignored/a.py").read_bytes() == b"x=1\n"
    assert (tmp_path / "skipme/b.py").read_bytes() == b"x=1\n"


def test_pyproject_line_length_honoured(tmp_path):
    line = "result = some_function_name(argument_one, argument_two, argument_three_xyz, arg_four)\n"
    assert 79 < len(line) <= 100
    path = tmp_path / "a.py"
    path.write_text(line)
    assert _run("--check", str(path)).exit_code == 1  # too long for the default 79
    (tmp_path / "pyproject.toml").write_text("[tool.moesuite.refactor]\nline-length = 100\n")
    result = _run("--check", str(path))
    assert result.exit_code == 0, result.output


def test_pyproject_bad_key_exits_2_naming_file(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.moesuite.refactor]\nline-lenght = 100\n")
    path = tmp_path / "a.py"
    path.write_bytes(CLEAN)
    result = _run("--check", str(path))
    assert result.exit_code == 2
    assert "pyproject.toml" in result.output
    assert "line-lenght" in result.output


def test_complexity_over_target_reported(tmp_path):
    branches = "".join(f"    if a == {i}:\n        return {i}\n" for i in range(8))
    path = tmp_path / "c.py"
    path.write_text(f"def busy(a):\n{branches}    return -1\n")
    result = _run("--complexity-target", "low", str(path))
    assert "busy" in result.output and "complexity" in result.output, result.output


def test_check_exits_1_when_gate_leaves_file_untouched(tmp_path):
    # A name longer than 79 columns cannot be split; with --no-add-noqa the E501 is left and
    # the gate refuses the whole file.
    source = "x = " + "a" * 100 + "\n"
    path = tmp_path / "long.py"
    path.write_text(source)
    assert _run("--no-add-noqa", "--check", str(path)).exit_code == 1
    result = _run("--no-add-noqa", "--write", str(path))
    assert path.read_text() == source
    assert "left untouched" in result.output and "E501" in result.output


def test_unsplittable_line_gets_noqa_and_is_reported(tmp_path):
    source = "import sys\nsys.path.insert(0, 'x')\nimport os\nx = " + "a" * 100 + "\n"
    path = tmp_path / "long.py"
    path.write_text(source)
    result = _run("--write", str(path))
    assert result.exit_code == 0, result.output
    lines = path.read_text().splitlines()
    assert "import os  # noqa: E402" in lines
    assert "x = " + "a" * 100 + "  # noqa: E501" in lines
    assert "E402 has no safe fix" in result.output and "E501 has no safe fix" in result.output
    assert _run("--check", str(path)).exit_code == 0


def test_parameter_named_l_is_reported_not_renamed(tmp_path):
    # Renaming a parameter would break keyword callers: the name stays and is reported.
    path = tmp_path / "p.py"
    path.write_text("def f(l):\n    return l\ny=f(l=1)\n")
    result = _run("--write", str(path))
    assert result.exit_code == 0, result.output
    assert path.read_text() == "def f(l):\n    return l\n\n\ny = f(l=1)\n"
    assert "E741" in result.output and "kept" in result.output


def test_whitespace_inside_a_string_is_reported_and_the_file_written(tmp_path):
    # The spaces are the string's value: kept and listed; the rest of the file is fixed.
    path = tmp_path / "s.py"
    path.write_text('x=1\nWORDS = """a  \nb"""\n')
    result = _run("--write", str(path))
    assert result.exit_code == 0, result.output
    assert path.read_text() == 'x = 1\nWORDS = """a  \nb"""\n'
    assert "2:13 W291 trailing whitespace: kept" in result.output
    report = _run("--check", "--format", "json", str(path))
    assert report.exit_code == 0, report.output
    (entry,) = json.loads(report.output)["files"]
    assert entry["status"] == "unchanged" and len(entry["violations_kept"]) == 1


def test_minimal_and_quote_style_flags_and_pyproject(tmp_path):
    path = tmp_path / "a.py"
    path.write_bytes(b"TABLE = {'a': 1,\n         'b': 2}\nx=[1,2]\n")
    minimal = _run("--minimal", "-", input=path.read_bytes())
    assert minimal.exit_code == 0, minimal.output
    assert minimal.output == "TABLE = {'a': 1,\n         'b': 2}\nx = [1, 2]\n"
    preserved = _run("--quote-style", "preserve", "-", input=path.read_bytes())
    assert preserved.output == "TABLE = {'a': 1, 'b': 2}\nx = [1, 2]\n"
    (tmp_path / "pyproject.toml").write_text("[tool.moesuite.refactor]\nminimal = true\n")
    result = _run("--write", str(path))
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == b"TABLE = {'a': 1,\n         'b': 2}\nx = [1, 2]\n"
