"""Build, save and load models: local directories only, safetensors only.

A directory is either a transformers causal LM checkpoint (any HF MoE: DeepseekV3, Qwen3-MoE,
Mixtral, OLMoE, ...) with its tokenizer, or a record model (``records.json`` beside
``config.json`` and ``model.safetensors``).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase
from transformers.utils import logging as hf_logging

from core_model.architecture import build_causal_lm, deepseek_v3_config
from core_model.config import LoadOptions, ModelSpec
from core_model.errors import CheckpointError, CoreModelError
from core_model.records import (
    RecordModel,
    RecordSchema,
    build_record_model,
    record_config_from_dict,
)
from core_model.runtime import dtype_name, resolve_device, resolve_dtype, seed_everything

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
RECORDS_FILE = "records.json"
WEIGHTS_FILE = "model.safetensors"

# Progress bars for a few-MB checkpoint are noise on a CLI's stderr.
hf_logging.disable_progress_bar()


@dataclass
class Model:
    """A loaded model. ``kind`` is "causal_lm" (token ids; has ``tokenizer``) or "records"
    (structured records; has ``schema``). ``module`` is the torch module: private to core_model."""

    module: torch.nn.Module
    kind: str
    tokenizer: PreTrainedTokenizerBase | None = None
    schema: RecordSchema | None = None
    device: str = "cpu"
    dtype: str = "float32"
    quantization: str | None = None
    path: Path | None = None

    @property
    def config(self):
        return self.module.config

    @property
    def torch_device(self) -> torch.device:
        return next(self.module.parameters()).device


def build_model(
    spec: ModelSpec,
    *,
    tokenizer: PreTrainedTokenizerBase | None = None,
    schema: RecordSchema | None = None,
    seed: int = 0,
) -> Model:
    """A randomly initialised DeepSeek-V3-style model: a record model with ``schema``, else a
    causal LM whose vocabulary comes from ``tokenizer`` (or ``spec.vocab_size``)."""
    if tokenizer is not None and schema is not None:
        raise CoreModelError("pass a tokenizer (text model) or a schema (record model), not both")
    seed_everything(seed)
    if schema is not None:
        config = deepseek_v3_config(spec, vocab_size=2, bos=0, eos=0, pad=0)
        module = build_record_model(config, schema)
        return Model(module=module.eval(), kind="records", schema=schema)
    vocab = len(tokenizer) if tokenizer is not None else spec.vocab_size
    ids = _special_ids(tokenizer)
    config = deepseek_v3_config(spec, vocab_size=vocab, **ids)
    module = build_causal_lm(config)
    return Model(module=module.eval(), kind="causal_lm", tokenizer=tokenizer)


def build_text_model(
    spec: ModelSpec, texts: list[str], *, vocab_size: int | None = None, seed: int = 0
) -> Model:
    """A causal LM with a byte-level BPE tokenizer trained on ``texts`` (random weights)."""
    from core_model.tokenizer import train_bpe_tokenizer

    tokenizer = train_bpe_tokenizer(texts, vocab_size=vocab_size or spec.vocab_size)
    return build_model(spec, tokenizer=tokenizer, seed=seed)


def _special_ids(tokenizer: PreTrainedTokenizerBase | None) -> dict[str, int]:
    if tokenizer is None:
        return {"bos": 1, "eos": 2, "pad": 0}
    return {
        "bos": tokenizer.bos_token_id,
        "eos": tokenizer.eos_token_id,
        "pad": tokenizer.pad_token_id,
    }


def _weights_dtype(name: str | None) -> torch.dtype | None:
    if name is None:
        return None
    dtypes = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
    if name not in dtypes:
        raise CoreModelError(f"unknown weights dtype {name!r}; use float32, float16 or bfloat16")
    return dtypes[name]


def save(
    model: Model, directory: str | os.PathLike, weights_dtype: str | None = None
) -> Path:
    """Write the model (safetensors + config.json, and tokenizer or records.json) atomically:
    into a temporary sibling directory, then renamed over ``directory``.

    ``weights_dtype`` ("float16", "bfloat16") stores the parameters at that precision to ship
    a smaller file; buffers (router bias) stay as they are and ``load`` computes in its own dtype.
    The model passed in is not modified.
    """
    dtype = _weights_dtype(weights_dtype)
    if model.quantization is not None:
        # save_pretrained of 4-bit experts fails upstream (FIELD_NOTES): keep checkpoints in
        # full precision and quantize at load.
        raise CoreModelError(
            "a quantized model cannot be saved; save the full-precision model "
            "and pass quantize='4bit' to load()"
        )
    target = Path(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        if model.kind == "records":
            module: RecordModel = model.module
            config = module.config.to_dict()
            (staging / "config.json").write_text(json.dumps(config, indent=2, default=str))
            (staging / RECORDS_FILE).write_text(model.schema.to_json())
            params = {name for name, _ in module.named_parameters()}
            state = {
                k: (v.to(dtype) if dtype is not None and k in params else v).detach().contiguous()
                for k, v in module.state_dict().items()
            }
            save_file(state, str(staging / WEIGHTS_FILE), metadata={"format": "pt"})
        else:
            module = model.module
            if dtype is not None:
                module = copy.deepcopy(module)
                for param in module.parameters():
                    param.data = param.data.to(dtype)
            module.save_pretrained(staging, safe_serialization=True)
            if model.tokenizer is not None:
                model.tokenizer.save_pretrained(staging)
        # mkdtemp makes the directory 0700 (and some writers make files 0600): a saved model is
        # an artifact others load, so make it readable like any other file.
        os.chmod(staging, 0o755)
        for path in staging.iterdir():
            os.chmod(path, 0o644)
        if target.exists():
            backup = target.with_name(f".{target.name}.old")
            shutil.rmtree(backup, ignore_errors=True)
            target.rename(backup)
            staging.rename(target)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _check_directory(path: Path) -> None:
    if not path.is_dir():
        raise CheckpointError(path, "not a directory; models load from local directories only")
    if not (path / "config.json").is_file():
        raise CheckpointError(path, "no config.json; not a model directory")
    if not any(path.glob("*.safetensors")):
        pickles = sorted(p.name for p in path.iterdir() if p.suffix in PICKLE_SUFFIXES)
        if pickles:
            raise CheckpointError(
                path,
                f"only pickle weights ({', '.join(pickles)}); refusing to unpickle them. "
                "Convert the checkpoint to safetensors first.",
            )
        raise CheckpointError(path, "no *.safetensors weights found")


def load(
    path: str | os.PathLike, device: str = "auto", dtype: str = "auto", quantize: str | None = None
) -> Model:
    """Load a local model directory (no network, safetensors only).

    Args:
        path: a directory with config.json and *.safetensors weights.
        device: "auto" (CUDA when present), "cpu" or "cuda[:N]".
        dtype: "auto" (bf16 on CUDA, fp32 on CPU), "float32" or "bfloat16".
        quantize: None or "4bit" (NF4 routed experts and linear layers, see quant.py).
    """
    options = LoadOptions(device=device, dtype=dtype, quantize=quantize)
    if options.quantize not in (None, "4bit"):
        raise CoreModelError(f"unknown quantization {quantize!r}; use 4bit or none")
    root = Path(path).expanduser()
    _check_directory(root)
    torch_device = resolve_device(options.device)
    torch_dtype = resolve_dtype(options.dtype, torch_device)
    if (root / RECORDS_FILE).is_file():
        model = _load_records(root)
    else:
        model = _load_causal_lm(root)
    model.module.to(device=torch_device, dtype=torch_dtype)
    _keep_router_fp32(model.module)
    model.module.eval()
    model.device, model.dtype, model.path = str(torch_device), dtype_name(torch_dtype), root
    if options.quantize == "4bit":
        from core_model.quant import quantize_4bit

        quantize_4bit(model.module)
        model.quantization = "4bit"
    return model


def _keep_router_fp32(module: torch.nn.Module) -> None:
    # Routing decisions are sensitive to rounding; transformers keeps these in fp32 too.
    for name, buf in module.named_buffers():
        if name.endswith("e_score_correction_bias"):
            buf.data = buf.data.float()


def _load_records(root: Path) -> Model:
    try:
        schema = RecordSchema.from_json((root / RECORDS_FILE).read_text())
        config = record_config_from_dict(json.loads((root / "config.json").read_text()))
    except (KeyError, ValueError) as exc:
        raise CheckpointError(root, f"unreadable records.json/config.json: {exc}") from exc
    module = build_record_model(config, schema)
    state = load_file(str(root / WEIGHTS_FILE))
    missing, unexpected = module.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise CheckpointError(
            root,
            f"weights do not match the config (missing {missing[:3]}, unexpected {unexpected[:3]})",
        )
    return Model(module=module, kind="records", schema=schema)


def _load_causal_lm(root: Path) -> Model:
    try:
        config = AutoConfig.from_pretrained(root, local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise CheckpointError(root, f"config.json is not a transformers config: {exc}") from exc
    if getattr(config, "_experts_implementation", None) in (None, "batched_mm"):
        # batched_mm gathers weights per token: 40x slower on CPU (FIELD_NOTES).
        config._experts_implementation = "eager"
    try:
        module = AutoModelForCausalLM.from_pretrained(
            root,
            config=config,
            local_files_only=True,
            use_safetensors=True,
            dtype=torch.float32,
        )
    except (OSError, ValueError) as exc:
        raise CheckpointError(root, f"cannot load weights: {exc}") from exc
    tokenizer = None
    if any((root / name).is_file() for name in ("tokenizer.json", "tokenizer_config.json")):
        tokenizer = AutoTokenizer.from_pretrained(root, local_files_only=True)
    return Model(module=module, kind="causal_lm", tokenizer=tokenizer)
