"""No third-party warning reaches a CLI user: the CLI edge hides other libraries' warnings and
log records (unless asked for), and loading a 4-bit model offline says nothing alarming."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

_EMIT = """
import logging, sys, warnings
from moesuite.third_party import silence_third_party
silence_third_party()
logging.getLogger("bitsandbytes.backends.cpu.ops").warning("Failed to load CPU gemm_4bit_forward")
logging.getLogger("kernels._internals.hf_hub").warning("Skipping publisher trust check")
warnings.warn("a dependency's deprecation", DeprecationWarning)
warnings.warn("a dependency's remark", UserWarning)
logging.getLogger("workers.transport").warning("redelivering 2 message(s)")
"""


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    full_env.update({"PYTHONPATH": str(REPO), **env})
    return subprocess.run(
        [sys.executable, "-c", code],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )


def test_third_party_warnings_and_logs_are_hidden_ours_kept():
    err = _run(_EMIT).stderr
    assert "gemm_4bit" not in err and "publisher" not in err
    assert "dependency" not in err
    assert err.strip() == "redelivering 2 message(s)"


def test_asking_for_them_shows_them():
    err = _run(_EMIT, PYTHONWARNINGS="default", MOESUITE_LOG_LEVEL="WARNING").stderr
    assert "Failed to load CPU gemm_4bit_forward" in err
    assert "a dependency's remark" in err


@pytest.mark.slow
def test_offline_4bit_model_info_prints_only_the_report(tmp_path):
    model = REPO / "codeassist" / "assets" / "code_model"
    code = (
        "import sys; sys.argv = ['moesuite', 'model', 'info', sys.argv[1], '--quantize', '4bit'];"
        "from moesuite.cli import main; main()"
    )
    full_env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "HF_HUB_OFFLINE": "1",
        "MOESUITE_HOME": str(tmp_path),
        "OMP_NUM_THREADS": "1",
    }
    full_env.pop("PYTHONWARNINGS", None)
    result = subprocess.run(
        [sys.executable, "-c", code, str(model)],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "quantization 4bit" in result.stdout
    assert result.stderr == ""
