"""Progress of long commands: on stderr only, a bar on a terminal, plain lines in logs, none
with --quiet."""

import io
import json

from click.testing import CliRunner

from core_model.progress import NULL_PROGRESS, track
from moesuite.cli import cli
from moesuite.progress import BarProgress, LineProgress, make_progress


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class TtyStream(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_start_every_interval_and_end_with_eta():
    stream, clock = io.StringIO(), FakeClock()
    progress = LineProgress(stream, interval=10.0, clock=clock)
    progress.stage("features", total=1000, unit="rows")
    for _ in range(10):
        clock.now += 2.0
        progress.advance(50)  # 25 rows/s
    progress.stage("classifier")
    clock.now += 3.0
    progress.close()
    lines = stream.getvalue().splitlines()
    assert lines == [
        "features: started (1,000 rows)",
        "features: 250/1,000 rows (25%), 10 s elapsed, ETA 30 s",
        "features: 500/1,000 rows (50%), 20 s elapsed, ETA 20 s",
        "features: done, 500/1,000 rows (50%) in 20 s",
        "classifier: started",
        "classifier: done, in 3 s",
    ]


def test_a_counted_stage_over_at_once_prints_nothing():
    stream, clock = io.StringIO(), FakeClock()
    progress = LineProgress(stream, interval=10.0, clock=clock, delay=2.0)
    progress.stage("detect", total=1, unit="files")
    clock.now += 0.3
    progress.advance(1)
    progress.stage("write report")  # uncounted stages are announced at once
    progress.close()
    assert stream.getvalue().splitlines() == ["write report: started", "write report: done, in 0 s"]


def test_renderer_follows_the_stream():
    assert isinstance(make_progress(False, io.StringIO()), LineProgress)
    assert isinstance(make_progress(False, TtyStream()), BarProgress)
    assert make_progress(True, TtyStream()) is NULL_PROGRESS


def test_bar_on_a_terminal_shows_stage_and_count():
    stream = TtyStream()
    progress = make_progress(False, stream, interval=0)
    for _ in track(range(30), progress, "detect", unit="files"):
        pass
    progress.close()
    text = stream.getvalue()
    assert "detect" in text and "30/30" in text
    quick = TtyStream()
    progress = BarProgress(quick, delay=2.0)  # a counted stage over at once: no bar
    for _ in track(range(30), progress, "detect", unit="files"):
        pass
    progress.close()
    assert quick.getvalue() == ""


def _tree(tmp_path, n=20):
    for i in range(n):
        (tmp_path / f"m{i:02d}.py").write_text(f"x{i} = [1,2]\n")
    return tmp_path


def test_refactor_of_a_tree_reports_progress_on_stderr_only(tmp_path):
    tree = _tree(tmp_path)
    args = ["refactor", "--check", "--jobs", "1", "--format", "json", str(tree)]
    result = CliRunner().invoke(cli, args, env={"MOESUITE_PROGRESS_INTERVAL": "0"})
    assert result.exit_code == 1, result.output  # every file would change
    assert "refactor: started (20 files)" in result.stderr
    assert "refactor: done, 20/20 files (100%)" in result.stderr
    report = json.loads(result.stdout)  # stdout stays machine-readable
    assert report["summary"]["changed"] == 20


def test_quiet_silences_progress_as_group_or_command_flag(tmp_path):
    tree = _tree(tmp_path)
    base = ["refactor", "--check", "--jobs", "1", str(tree)]
    every_update = {"MOESUITE_PROGRESS_INTERVAL": "0"}
    for args in (["--quiet", *base], [*base, "--quiet"], ["-q", *base]):
        result = CliRunner().invoke(cli, args, env=every_update)
        assert result.exit_code == 1
        assert "refactor:" not in result.stderr
        assert "would reformat" in result.stderr  # results and findings still shown
    result = CliRunner().invoke(cli, base, env={**every_update, "MOESUITE_QUIET": "1"})
    assert "refactor:" not in result.stderr
    assert "refactor:" in CliRunner().invoke(cli, base, env=every_update).stderr


def test_detect_defects_counts_files_on_stderr(tmp_path):
    for i in range(3):
        (tmp_path / f"m{i}.py").write_text("def f(a):\n    return a\n")
    args = ["detect-defects", "--no-learned", "--format", "json", str(tmp_path)]
    result = CliRunner().invoke(cli, args, env={"MOESUITE_PROGRESS_INTERVAL": "0"})
    assert result.exit_code == 0, result.output
    assert "detect: started (3 files)" in result.stderr
    assert "detect: done, 3/3 files (100%)" in result.stderr
    assert json.loads(result.stdout) == []


class RecordingProgress:
    def __init__(self) -> None:
        self.stages: list[tuple[str, int | None]] = []
        self.done: dict[str, int] = {}

    def stage(self, name, total=None, unit="items"):
        self.stages.append((name, total))
        self.done[name] = 0

    def advance(self, n=1):
        self.done[self.stages[-1][0]] += n

    def close(self):
        pass


def test_train_fraud_reports_its_stages_in_order():
    from fraud.training import TrainFraudOptions, train_fraud
    from tests.fraud.txn_frames import make_frame

    frame = make_frame(n=6000, n_customers=150, days=50, seed=4)
    progress = RecordingProgress()
    train_fraud(frame, TrainFraudOptions(seed=0, with_sequence=False), progress=progress)
    names = [name for name, _ in progress.stages]
    assert names[:2] == ["reading", "features"]
    assert names[-3:] == ["calibrating", "final fit", "risk tables"]
    assert progress.stages[1][1] == progress.done["features"] == 6000


def test_train_fraud_counts_the_sequence_pretraining_steps():
    from fraud.sequence import SequenceConfig
    from fraud.training import TrainFraudOptions, train_fraud
    from tests.fraud.txn_frames import make_frame

    frame = make_frame(n=6000, n_customers=150, days=50, seed=4)
    progress = RecordingProgress()
    options = TrainFraudOptions(
        seed=0, with_sequence=True, sequence_config=SequenceConfig(steps=3, seed=0)
    )
    train_fraud(frame, options, progress=progress)
    assert ("sequence pretraining (customer_id)", 3) in progress.stages
    assert progress.done["sequence pretraining (customer_id)"] == 3
