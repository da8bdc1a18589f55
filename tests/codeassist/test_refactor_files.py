"""File handling: atomic write under a simulated failure; encodings round-trip."""

import os

import pytest

import codeassist.files as files_module
from codeassist.config import RefactorOptions
from codeassist.files import decode_source, encode_source
from codeassist.refactor.files import refactor_file


def test_failed_replace_leaves_original_and_no_temp_file(monkeypatch, tmp_path):
    path = tmp_path / "a.py"
    original = b"x=[1,2]\n"
    path.write_bytes(original)

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files_module.os, "replace", broken_replace)
    outcome = refactor_file(str(path), RefactorOptions(), "write")
    monkeypatch.undo()
    assert outcome.status == "error"
    assert "a.py" in outcome.reason
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["a.py"]


@pytest.mark.parametrize(
    "data",
    [
        b"# -*- coding: latin-1 -*-\ns = 'caf\xe9'\n",
        b"\xef\xbb\xbfx = 1\r\ny = 2\r\n",
        b"x = 1\r\n",
    ],
)
def test_decode_encode_round_trip(data):
    source = decode_source(data, "t.py")
    assert encode_source(source, source.text) == data
