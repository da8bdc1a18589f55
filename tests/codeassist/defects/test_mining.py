"""The fix miner on a tiny git history: of a bug fix, a refactor, a format-only change and a
test-only change it keeps exactly the fix, pointing at the buggy line."""

import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from codeassist.defects.fix_diff import DiffLimits, Rejected, analyse_change
from codeassist.defects.fixes import case_source, load_fixes, split_repositories
from codeassist.defects.mining import MineConfig, is_fix_message, mine_repository
from moesuite.cli import cli

SHOP = """\
import math

RATE = 0.2


def price(amount, discount):
    total = amount - discount
    if total > 0:
        return total
    return 0


class Cart:
    def weight(self, items):
        heavy = [i for i in items if i.kg > 5]
        return len(heavy)
"""
FIXED = SHOP.replace("if total > 0:", "if total >= 0:")
REFACTORED = FIXED.replace("heavy", "bulky")  # a consistent rename, said to fix nothing
FORMATTED = REFACTORED.replace("amount - discount", "(amount - discount)")
TEST = "from shop import price\n\n\ndef test_price():\n    assert price(2, 1) == 1\n"


def _git(repo: Path, *args: str) -> None:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com", GIT_AUTHOR_DATE="2024-01-01T00:00:00",
        GIT_COMMITTER_DATE="2024-01-01T00:00:00",
    )  # fmt: skip
    subprocess.run(["git", "-C", str(repo), *args], check=True, env=env, capture_output=True)


def _commit(repo: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        _git(repo, "add", name)
    _git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def history(tmp_path: Path) -> Path:
    repo = tmp_path / "shop"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _commit(repo, {"shop.py": SHOP}, "Initial version")
    _commit(repo, {"shop.py": FIXED}, "Fix wrong price when the discount equals the amount")
    _commit(repo, {"shop.py": REFACTORED}, "Fix confusing variable name")
    _commit(repo, {"shop.py": FORMATTED}, "Fix error in layout")
    _commit(repo, {"tests/test_shop.py": TEST}, "Fix crash in the price test")
    return repo


def test_the_miner_keeps_exactly_the_fix_with_its_buggy_line(history: Path):
    report = mine_repository(history, MineConfig(), name="acme/shop")
    assert report.scanned == 5
    assert [c.subject for c in report.cases] == [
        "Fix wrong price when the discount equals the amount"
    ]
    case = report.cases[0]
    assert (case.repo, case.path, case.function) == ("acme/shop", "shop.py", "price")
    assert case.before.splitlines()[case.buggy_lines[0] - 1] == "    if total > 0:"
    assert case.buggy_lines == (3,)
    assert case.buggy_file_lines == (8,)
    assert SHOP.splitlines()[case.buggy_file_lines[0] - 1] == "    if total > 0:"
    assert case.after.splitlines()[2] == "    if total >= 0:"
    assert case.category == "wrong_comparison"
    assert dict(report.rejected) == {"rename": 1, "formatting or comments only": 1}


def test_a_case_reads_as_a_file_that_declares_its_module_names():
    change = analyse_change(
        SHOP, SHOP.replace("len(heavy)", "len(items)"), DiffLimits()
    )  # a method, dedented, whose module binds nothing it reads
    assert change.function == "Cart.weight"
    assert change.before.startswith("def weight(self, items):")
    assert change.category == "wrong_variable"
    module_reader = SHOP.replace("total = amount - discount", "total = math.floor(amount)")
    change = analyse_change(SHOP, module_reader, DiffLimits())
    assert change.context == ("math",)


@pytest.mark.parametrize(
    ("after", "reason"),
    [
        (SHOP.replace("return 0\n", "return 0  # never negative\n"), "formatting or comments only"),
        (SHOP.replace("RATE = 0.2", "RATE = 0.3"), "change not inside one function"),
        (SHOP.replace("    return 0\n", "    return 0\n    print()\n"),
         "no code line of the buggy version changed"),
    ],
)  # fmt: skip
def test_changes_that_are_not_small_fixes_are_rejected(after: str, reason: str):
    with pytest.raises(Rejected) as caught:
        analyse_change(SHOP, after, DiffLimits())
    assert caught.value.reason == reason


def test_fix_messages():
    assert is_fix_message("Fix crash on empty input")
    assert is_fix_message("Correct wrong offset in parser")
    assert not is_fix_message("Refactor: fix naming")
    assert not is_fix_message("Bump requests to fix CVE")
    assert not is_fix_message("Add a new feature")


def test_split_is_disjoint_by_repository_and_sized_by_cases():
    counts = {f"org/r{i}": 10 for i in range(10)}
    split = split_repositories(counts, validation=0.2, test=0.2)
    assert sorted(split.values()).count("test") == 2
    assert sorted(split.values()).count("validation") == 2
    assert sorted(split.values()).count("train") == 6


def test_mine_fixes_command_writes_cases_and_a_recipe(history: Path, tmp_path: Path):
    out, recipe = tmp_path / "fixes.jsonl", tmp_path / "recipe.json"
    result = CliRunner().invoke(
        cli, ["mine-fixes", str(history), "-o", str(out), "--recipe", str(recipe)]
    )
    assert result.exit_code == 0, result.output
    cases = load_fixes([out])
    assert len(cases) == 1 and cases[0].split in ("train", "validation", "test")
    document = json.loads(recipe.read_text())
    assert document["repositories"][0]["commits"] == [cases[0].commit]
    assert document["data"]["cases"] == 1
    source = case_source(cases[0])
    assert source.splitlines()[0] == "pass"  # `price` reads no module name
    assert source.splitlines()[1 + 2] == "    if total > 0:"


def test_a_broken_data_line_names_file_line_and_field(tmp_path: Path):
    path = tmp_path / "fixes.jsonl"
    path.write_text('{"repo": "a/b"}\n')
    result = CliRunner().invoke(cli, ["evaluate-defects", "--fixes", str(path)])
    assert result.exit_code == 2
    assert f"{path}:1: field 'commit': missing" in result.output


def test_an_unreadable_repository_is_reported_and_the_others_still_mined(
    history: Path, tmp_path: Path
):
    from codeassist.defects.mining import mine_repositories

    broken = tmp_path / "broken"
    broken.mkdir()  # not a git repository
    reports = list(mine_repositories([broken, history], MineConfig(), jobs=2))
    assert reports[0].error and not reports[0].cases
    assert [c.function for c in reports[1].cases] == ["price"] and reports[1].error is None


def test_a_capped_sample_takes_every_repository_its_share():
    from codeassist.defects.fixes import spread

    cases = [_stand_in(repo) for repo in ["a"] * 6 + ["b"] * 6]
    assert [c.repo for c in spread(cases, 4)] == ["a", "a", "b", "b"]
    assert spread(cases, None) == cases and spread(cases, 99) == cases


def _stand_in(repo: str):
    """A case as `spread` sees it: only its repository."""
    from types import SimpleNamespace

    return SimpleNamespace(repo=repo)


TYPED = """\
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shop.models import Basket, Order


def walk(node: "Basket", depth: int) -> "list[Order]":
    if depth > 0:
        return walk(node.parent, depth - 1)
    return []
"""


def test_a_case_file_names_string_annotations_and_not_its_own_function(tmp_path: Path):
    # Two flaws of the first data set: names read only in string annotations (the module
    # imports them under TYPE_CHECKING) were missing from the context line, so ruff saw them
    # as undefined (F821); a recursive function imported its own name (F811).
    change = analyse_change(TYPED, TYPED.replace("depth > 0", "depth >= 0"), DiffLimits())
    assert change.context == ("Basket", "Order")
    repo = tmp_path / "typed"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _commit(repo, {"typed.py": TYPED}, "Initial version")
    _commit(repo, {"typed.py": TYPED.replace("depth > 0", "depth >= 0")}, "Fix wrong depth")
    (case,) = mine_repository(repo, MineConfig(), name="acme/typed").cases
    from codeassist.defects.fixes_eval import ruff_found

    fixed = case_source(case, fixed=True)
    assert fixed.splitlines()[0] == "import Basket, Order"
    assert ruff_found([fixed]) == [[]]  # the fixed version is clean to ruff
