import json
import time

import pytest
import torch
from safetensors.torch import save_file

from core_model.config import PRESETS
from core_model.errors import CheckpointError, CoreModelError
from core_model.load import build_model, load, save


def _same_weights(a, b) -> bool:
    sa, sb = a.module.state_dict(), b.module.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_tiny_preset_builds_fast(schema):
    start = time.perf_counter()
    built = build_model(PRESETS["tiny"], schema=schema)
    assert time.perf_counter() - start < 2.0
    assert built.kind == "records"


def test_causal_lm_round_trip_is_bit_exact(tiny_lm, tiny_lm_dir):
    loaded = load(tiny_lm_dir, device="cpu")
    assert loaded.kind == "causal_lm"
    assert _same_weights(tiny_lm, loaded)
    text = "def f(x):\n    return x\n"
    assert loaded.tokenizer.decode(loaded.tokenizer(text)["input_ids"]) == text
    assert loaded.config.model_type == "deepseek_v3"
    assert loaded.config.n_routed_experts == 16 and loaded.config.num_experts_per_tok == 4
    assert loaded.config.n_shared_experts == 1 and loaded.config.first_k_dense_replace == 1


def test_record_model_round_trip_is_bit_exact(tiny_records, tmp_path):
    save(tiny_records, tmp_path / "rec")
    loaded = load(tmp_path / "rec")
    assert loaded.kind == "records" and loaded.schema == tiny_records.schema
    assert _same_weights(tiny_records, loaded)


def test_save_replaces_existing_directory_atomically(tiny_records, tmp_path):
    target = tmp_path / "rec"
    save(tiny_records, target)
    save(tiny_records, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec"]


def test_pickle_checkpoint_is_refused_without_unpickling(tmp_path, tiny_lm_dir):
    ckpt = tmp_path / "pickled"
    ckpt.mkdir()
    (ckpt / "config.json").write_text((tiny_lm_dir / "config.json").read_text())
    marker = tmp_path / "unpickled"

    class Boom:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    torch.save({"x": Boom()}, ckpt / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="refusing to unpickle"):
        load(ckpt)
    assert not marker.exists()


def test_missing_directory_and_config_are_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="not a directory"):
        load(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no config.json"):
        load(tmp_path / "empty")


def test_other_hf_moe_architecture_loads_the_same_way(tmp_path):
    from transformers import Qwen3MoeConfig, Qwen3MoeForCausalLM

    config = Qwen3MoeConfig(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=64,
        moe_intermediate_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        num_experts=8,
        num_experts_per_tok=2,
    )
    torch.manual_seed(0)
    Qwen3MoeForCausalLM(config).save_pretrained(tmp_path / "qwen", safe_serialization=True)
    loaded = load(tmp_path / "qwen", device="cpu")
    assert loaded.config.model_type == "qwen3_moe" and loaded.kind == "causal_lm"


def test_bad_dtype_and_quantization_names_are_rejected(tiny_lm_dir):
    with pytest.raises(CoreModelError, match="unknown dtype"):
        load(tiny_lm_dir, dtype="float8")
    with pytest.raises(CoreModelError, match="unknown quantization"):
        load(tiny_lm_dir, quantize="3bit")


def test_corrupt_records_checkpoint_is_reported(tiny_records, tmp_path):
    target = save(tiny_records, tmp_path / "rec")
    save_file({"x": torch.zeros(1)}, str(target / "model.safetensors"))
    with pytest.raises(CheckpointError, match="do not match"):
        load(target)
    (target / "records.json").write_text(json.dumps({"oops": 1}))
    with pytest.raises(CheckpointError):
        load(target)


def test_half_precision_save_is_smaller_and_loads_close(tiny_lm, tmp_path):
    full = save(tiny_lm, tmp_path / "full")
    half = save(tiny_lm, tmp_path / "half", weights_dtype="float16")
    size = lambda d: (d / "model.safetensors").stat().st_size  # noqa: E731
    assert size(half) < 0.6 * size(full)
    loaded = load(half, device="cpu")
    sa, sb = tiny_lm.module.state_dict(), loaded.module.state_dict()
    assert sa.keys() == sb.keys()
    assert all(sb[k].dtype == torch.float32 for k in sb if sb[k].is_floating_point())
    assert all(torch.allclose(sa[k], sb[k], rtol=1e-3, atol=1e-4) for k in sa)
    assert next(tiny_lm.module.parameters()).dtype == torch.float32  # caller's model untouched


def test_saved_model_is_readable_by_others(tiny_lm, tmp_path):
    target = save(tiny_lm, tmp_path / "lm")
    assert target.stat().st_mode & 0o755 == 0o755
    assert all(p.stat().st_mode & 0o644 == 0o644 for p in target.iterdir())


def test_unknown_weights_dtype_is_refused(tiny_lm, tmp_path):
    with pytest.raises(CoreModelError, match="weights dtype"):
        save(tiny_lm, tmp_path / "x", weights_dtype="int8")
