from click.testing import CliRunner

from moesuite.cli import cli


def test_version_and_help():
    runner = CliRunner()
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0 and "moesuite, version" in result.output
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in (
        "model",
        "score-transactions",
        "review",
        "refactor",
        "detect-defects",
        "worker",
        "jobs",
    ):
        assert command in result.output


def test_every_command_has_help():
    runner = CliRunner()

    def walk(group, path):
        for name in group.list_commands(None):
            command = group.get_command(None, name)
            result = runner.invoke(cli, [*path, name, "--help"])
            assert result.exit_code == 0, (path, name, result.output)
            assert "--quiet" in result.output, (path, name)
            if hasattr(command, "commands"):
                walk(command, [*path, name])

    walk(cli, [])


def test_domain_error_is_one_line_with_exit_code_2(tmp_path):
    result = CliRunner().invoke(cli, ["model", "info", str(tmp_path)])
    assert result.exit_code == 2
    assert "no config.json" in result.output and "Traceback" not in result.output


def test_bad_settings_file_exits_2(tmp_path):
    bad = tmp_path / "s.toml"
    bad.write_text("= nope")
    result = CliRunner().invoke(cli, ["--config", str(bad), "model", "info", str(tmp_path)])
    assert result.exit_code == 2 and "s.toml: not valid TOML" in result.output
