"""Start-up: `moesuite --help` and the everyday commands import only what they use.

The import budget is checked, not the time (times depend on the machine's load; bench/cli.py
measures them): a fresh interpreter runs the command and reports which heavy modules it loaded.
"""

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import moesuite.commands
from moesuite.cli import COMMANDS, cli

REPO = Path(__file__).resolve().parents[1]
HEAVY = {
    "torch",
    "transformers",
    "pandas",
    "celery",
    "kombu",
    "sklearn",
    "numpy",
    "sqlalchemy",
    "alembic",
    "scipy",
    "pyarrow",
    "matplotlib",
    "tokenizers",
    "safetensors",
}

_PROBE = """
import json, sys
argv, out = json.loads(sys.argv[1]), sys.argv[2]
sys.argv = ["moesuite", *argv]
from moesuite.cli import main
try:
    main()
except SystemExit:
    pass
with open(out, "w") as fh:
    json.dump(sorted(sys.modules), fh)
"""


def loaded_modules(args: list[str], tmp_path: Path, env: dict | None = None) -> set[str]:
    """The modules a fresh `moesuite ARGS` process has imported when it ends."""
    out = tmp_path / "modules.json"
    full_env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "MOESUITE_HOME": str(tmp_path / "home"),
        **(env or {}),
    }
    subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args), str(out)],
        env=full_env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return set(json.loads(out.read_text()))


def loaded_top_modules(args: list[str], tmp_path: Path, env: dict | None = None) -> set[str]:
    """The top-level packages a fresh `moesuite ARGS` process has imported when it ends."""
    return {name.split(".")[0] for name in loaded_modules(args, tmp_path, env)}


def test_help_imports_no_heavy_module(tmp_path):
    assert loaded_top_modules(["--help"], tmp_path) & HEAVY == set()


def test_completion_imports_no_heavy_module(tmp_path):
    env = {"_MOESUITE_COMPLETE": "bash_complete", "COMP_WORDS": "moesuite re", "COMP_CWORD": "1"}
    assert loaded_top_modules([], tmp_path, env) & HEAVY == set()


def test_review_stats_loads_the_database_layer_only(tmp_path):
    # The first use creates the schema (Alembic); every later call finds it current.
    assert "alembic" in loaded_top_modules(["review", "stats"], tmp_path)
    loaded = loaded_top_modules(["review", "stats"], tmp_path)
    assert "sqlalchemy" in loaded  # it did run
    assert loaded & (HEAVY - {"sqlalchemy"}) == set()


@pytest.mark.parametrize(
    "args",
    [
        ["review", "stats"],
        ["review", "list", "--limit", "1"],
        ["review", "next", "--analyst", "ann"],
        ["review", "show", "1"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_review_commands_use_sqlalchemy_core_without_the_orm(tmp_path, args):
    # The ORM import is ~0.1 s of CPU, a fifth of a review command's start-up (bench/cli.py).
    loaded_modules(["db", "upgrade"], tmp_path)
    loaded = loaded_modules(args, tmp_path)
    assert "fraud.review.tables" in loaded  # it did run
    assert {m for m in loaded if m.startswith("sqlalchemy.orm")} == set()


def test_refactor_check_loads_no_model_or_data_stack(tmp_path):
    source = tmp_path / "one_file.py"
    source.write_text("x = 1\n")
    loaded = loaded_top_modules(["refactor", "--style", "pep8", "--check", str(source)], tmp_path)
    assert "codeassist" in loaded
    assert loaded & HEAVY == set()


def _all_command_modules():
    for info in pkgutil.iter_modules(moesuite.commands.__path__):
        module = importlib.import_module(f"moesuite.commands.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            yield module, command


def test_lazy_table_matches_the_command_modules():
    seen = set()
    for module, command in _all_command_modules():
        entry = COMMANDS.get(command.name)
        assert entry is not None, f"{command.name} ({module.__name__}) missing from COMMANDS"
        assert entry.module == module.__name__
        assert getattr(module, entry.attr) is command
        assert entry.short_help == command.get_short_help_str(limit=10_000), command.name
        seen.add(command.name)
    assert seen == set(COMMANDS)


def test_help_lists_every_command_with_its_help():
    result = CliRunner().invoke(cli, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    for name, entry in COMMANDS.items():
        assert f"{name} " in result.output
        assert entry.short_help[:30] in result.output


def test_missing_extra_names_the_extra(monkeypatch):
    # A command whose dependencies are not installed says which extra provides them.
    import moesuite.cli as cli_module

    def broken_import(name):
        raise ModuleNotFoundError("No module named 'torch'", name="torch")

    monkeypatch.setattr(cli_module.importlib, "import_module", broken_import)
    monkeypatch.setattr(cli_module.cli, "commands", {})
    result = CliRunner().invoke(cli, ["model", "info", "x"])
    assert result.exit_code == 2
    assert "'model' extra" in result.output and "moesuite[model]" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script_for_each_shell(shell):
    result = CliRunner().invoke(cli, ["completion", shell])
    assert result.exit_code == 0
    assert "_MOESUITE_COMPLETE" in result.output and f"{shell}_" in result.output


def test_completion_completes_command_names():
    env = {"_MOESUITE_COMPLETE": "bash_complete", "COMP_WORDS": "moesuite rev", "COMP_CWORD": "1"}
    result = CliRunner().invoke(cli, [], env=env, prog_name="moesuite")
    assert result.output.split() == ["plain,review"]


def test_completion_completes_subcommands():
    env = {
        "_MOESUITE_COMPLETE": "bash_complete",
        "COMP_WORDS": "moesuite review ne",
        "COMP_CWORD": "2",
    }
    result = CliRunner().invoke(cli, [], env=env, prog_name="moesuite")
    assert result.output.split() == ["plain,next"]
    assert isinstance(cli.get_command(None, "review"), click.Group)


def test_packaged_heads_agree_with_alembic():
    # review commands skip importing Alembic when the schema is at these heads.
    from alembic.script import ScriptDirectory

    from fraud.review.db import alembic_config, packaged_heads

    assert packaged_heads() == set(ScriptDirectory.from_config(alembic_config()).get_heads())


def test_static_detect_defects_loads_no_model_stack(tmp_path):
    source = tmp_path / "one_file.py"
    source.write_text("def f(a):\n    return a\n")
    loaded = loaded_top_modules(["detect-defects", "--no-learned", str(source)], tmp_path)
    assert "codeassist" in loaded
    assert loaded & HEAVY == set()


# Distribution that provides each module an extra is named for (kombu and redis come with
# celery[redis]).
_DISTRIBUTIONS = {
    "sklearn": "scikit-learn",
    "kombu": "celery",
    "redis": "celery",
    "starlette": "fastapi",
    "multipart": "python-multipart",
    "argon2": "argon2-cffi",
    "prometheus_client": "prometheus-client",
}


def test_extras_table_matches_pyproject():
    import tomllib

    from moesuite.extras import MODULE_EXTRAS

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]

    def names(requirements):
        return {
            r.split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower()
            for r in requirements
        }

    base = names(project["dependencies"])
    assert base.isdisjoint({"torch", "numpy", "pandas", "scikit-learn", "celery", "sqlalchemy"})
    extras = project["optional-dependencies"]
    for module, extra in MODULE_EXTRAS.items():
        assert _DISTRIBUTIONS.get(module, module) in names(extras[extra]), (module, extra)
    assert set(extras["all"][0].split("[")[1].rstrip("]").split(",")) == {
        "model",
        "fraud",
        "workers",
        "web",
    }


def test_missing_extra_names_the_commands_whole_extra():
    from moesuite.extras import missing_extra_message

    numpy_missing = ModuleNotFoundError("No module named 'numpy'", name="numpy")
    assert "'fraud' extra" in missing_extra_message(numpy_missing, "train-fraud")
    torch_missing = ModuleNotFoundError("No module named 'torch'", name="torch")
    assert "'model' extra" in missing_extra_message(torch_missing, "detect-defects")
    assert "'workers' extra" in missing_extra_message(torch_missing, "worker")
    other = ModuleNotFoundError("No module named 'nope'", name="nope")
    assert missing_extra_message(other, "refactor") is None
    from moesuite.extras import COMMAND_EXTRAS

    assert set(COMMAND_EXTRAS) <= set(COMMANDS)


def test_domain_package_inits_are_light():
    code = (
        "import json, sys; import core_model, fraud, fraud.review, codeassist, "
        "codeassist.defects, workers, moesuite.commands; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert set(json.loads(out)) & HEAVY == set()
