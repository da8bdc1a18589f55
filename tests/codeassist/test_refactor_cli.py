"""CLI modes of `refactor`: diff, --check exit codes, --write keeping CRLF and BOM."""

from click.testing import CliRunner

from cli import cli

DIRTY = b"x=[1,2]\r\nif x == None: pass\r\n"


def test_check_exit_codes_and_write_keeps_crlf_and_bom(tmp_path):
    path = tmp_path / "a.py"
    path.write_bytes(b"\xef\xbb\xbf" + DIRTY)
    runner = CliRunner()
    assert runner.invoke(cli, ["refactor", "--check", str(path)]).exit_code == 1
    result = runner.invoke(cli, ["refactor", "--write", str(path)])
    assert result.exit_code == 0, result.output
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"x is None" in data and b"\r\n" in data
    assert runner.invoke(cli, ["refactor", "--check", str(path)]).exit_code == 0


def test_unparsable_file_exits_2(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text("def f(:\n")
    result = CliRunner().invoke(cli, ["refactor", "--check", str(path)])
    assert result.exit_code == 2
    assert path.read_text() == "def f(:\n"
