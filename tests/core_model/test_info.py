"""describe(): active vs total parameters, bytes agree with the quantizer's own count."""

import dataclasses

from core_model.config import PRESETS
from core_model.info import describe, format_info
from core_model.load import build_text_model
from core_model.quant import quantize_4bit, weight_bytes


def test_describe_counts_active_and_bytes(code_texts):
    config = dataclasses.replace(PRESETS["tiny"], vocab_size=256)
    model = build_text_model(config, code_texts, vocab_size=256, seed=0)
    full = describe(model)
    assert 0 < full.active_params < full.total_params
    # bytes per component are counted independently of weight_bytes(); they must agree
    assert full.total_bytes == weight_bytes(model.module)
    quantize_4bit(model.module)
    q4 = describe(model)
    assert q4.total_bytes == weight_bytes(model.module) < full.total_bytes
    assert "experts" in format_info(q4)
