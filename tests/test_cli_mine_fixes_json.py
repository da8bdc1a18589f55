"""`mine-fixes --format json`: the summary a data pipeline reads (one fix in a tiny git history,
one folder that is no repository)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from click.testing import CliRunner

from moesuite.cli import cli

BUGGY = "def price(amount, discount):\n    total = amount - discount\n    if total > 0:\n" \
    "        return total\n    return 0\n"  # fmt: skip


def _git(repo: Path, *args: str) -> None:
    env = dict(
        os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com", GIT_AUTHOR_DATE="2024-01-01T00:00:00",
        GIT_COMMITTER_DATE="2024-01-01T00:00:00",
    )  # fmt: skip
    subprocess.run(["git", "-C", str(repo), *args], check=True, env=env, capture_output=True)


def test_mine_fixes_json_summary(tmp_path: Path):
    repo = tmp_path / "shop"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    for text, message in [
        (BUGGY, "Initial version"),
        (BUGGY.replace("total > 0", "total >= 0"), "Fix wrong price when the discount is equal"),
    ]:
        (repo / "shop.py").write_text(text)
        _git(repo, "add", "shop.py")
        _git(repo, "commit", "-q", "-m", message)
    broken = tmp_path / "broken"
    broken.mkdir()
    out, recipe = tmp_path / "fixes.jsonl", tmp_path / "recipe.json"

    result = CliRunner().invoke(
        cli,
        ["mine-fixes", str(repo), str(broken), "-o", str(out), "--recipe", str(recipe),
         "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)  # per-repository lines went to stderr
    by_repo = {r["repo"]: r for r in document["repositories"]}
    assert len(by_repo) == 2
    mined = next(r for r in by_repo.values() if r["error"] is None)
    skipped = next(r for r in by_repo.values() if r["error"] is not None)
    assert (mined["scanned"], mined["fixes"]) == (2, 1) and skipped["fixes"] == 0
    assert document["fixes"] == 1 == sum(s["fixes"] for s in document["splits"].values())
    (where,) = [name for name, s in document["splits"].items() if s["repositories"]]
    assert document["splits"][where]["repositories"] == [mined["repo"]]
    assert document["output"] == str(out) and document["recipe"] == str(recipe)
    assert document["sha256"] == json.loads(recipe.read_text())["data"]["sha256"]
    assert len(out.read_text().splitlines()) == 1
