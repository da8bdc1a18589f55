"""The shared progress protocol: stages and counts reach the renderer the caller hands in."""

from core_model.progress import NULL_PROGRESS, track


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def stage(self, name: str, total: int | None = None, unit: str = "items") -> None:
        self.events.append(("stage", name, total, unit))

    def advance(self, n: int = 1) -> None:
        self.events.append(("advance", n))

    def close(self) -> None:
        self.events.append(("close",))


def test_track_reports_the_stage_with_its_total_and_one_advance_per_item() -> None:
    recorder = Recorder()
    assert list(track(["a", "b", "c"], recorder, "files", unit="files")) == ["a", "b", "c"]
    assert recorder.events == [("stage", "files", 3, "files")] + [("advance", 1)] * 3


def test_track_over_a_generator_has_no_total_and_the_null_progress_passes_items_through() -> None:
    recorder = Recorder()
    assert list(track((i for i in range(2)), recorder, "rows")) == [0, 1]
    assert recorder.events[0] == ("stage", "rows", None, "items")
    assert list(track([1, 2], NULL_PROGRESS, "x")) == [1, 2]
