"""The corpora stay apart: the detector's splits never share a package, and the code model's
installed-package corpus holds no copy of standard-library code."""

from pathlib import Path

from codeassist.defects.corpus import list_corpus, list_installed, split_of, stdlib_root


def _write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _own_code(name: str, lines: int) -> str:
    body = "".join(f"    total_{name}_{i} = compute_{name}(value_{i}, scale={i}) + {i}\n"
                   for i in range(lines))  # fmt: skip
    return f"def {name}(value):\n{body}    return value\n"


def test_train_and_eval_splits_share_no_package():
    train = {f.package for f in list_corpus("train")}
    held_out = {f.package for f in list_corpus("eval")}
    assert train and held_out and not train & held_out
    assert all(split_of(p) == "eval" for p in held_out)


def test_installed_corpus_skips_copies_of_the_standard_library(tmp_path):
    copied = (stdlib_root() / "fnmatch.py").read_text(encoding="utf-8")
    _write(tmp_path, "vendoring/_vendor/fnmatch.py", copied)
    _write(tmp_path, "vendoring/own.py", _own_code("own", 30))
    _write(tmp_path, "other/__init__.py", _own_code("other", 10))
    _write(tmp_path, "other/tests/test_other.py", _own_code("test_other", 10))
    _write(tmp_path, "other/broken.py", "def broken(:\n")
    _write(tmp_path, "__editable___demo_finder.py", _own_code("finder", 5))

    files = list_installed(10_000_000, 10_000_000, root=tmp_path)

    names = sorted(str(f.path.relative_to(tmp_path)) for f in files)
    assert names == ["other/__init__.py", "vendoring/own.py"]
    assert {f.package for f in files} == {"other", "vendoring"}


def test_installed_corpus_keeps_to_its_budgets_and_is_reproducible(tmp_path):
    for package in ("alpha", "beta"):
        for i in range(6):
            _write(tmp_path, f"{package}/mod{i}.py", _own_code(f"{package}{i}", 20))
    size = len(_own_code("alpha0", 20))

    per_package = list_installed(10_000_000, 3 * size, root=tmp_path)
    assert sum(f.package == "alpha" for f in per_package) == 3
    assert sum(f.package == "beta" for f in per_package) == 3

    total = list_installed(4 * size, 10_000_000, root=tmp_path, seed=5)
    assert 4 * size <= sum(len(f.text) for f in total) < 5 * size
    again = list_installed(4 * size, 10_000_000, root=tmp_path, seed=5)
    assert [f.path for f in again] == [f.path for f in total]


def test_corpus_digest_does_not_depend_on_where_the_packages_are_installed(tmp_path):
    from codeassist.code_model import corpus_digest

    digests = []
    for checkout in ("one", "two"):
        root = tmp_path / checkout / "lib" / "site-packages"
        _write(root, "alpha/mod.py", _own_code("alpha", 5))
        digests.append(corpus_digest(list_installed(10_000, 10_000, root=root)))
    assert digests[0] == digests[1]
    _write(root, "alpha/mod.py", _own_code("alpha", 6))
    assert corpus_digest(list_installed(10_000, 10_000, root=root)) != digests[0]


def test_code_model_trains_loads_and_records_its_corpus(tmp_path, monkeypatch):
    import dataclasses
    import json

    import torch

    from codeassist import code_model
    from core_model.config import ModelSpec
    from core_model.load import build_text_model

    root = tmp_path / "site-packages"
    for i in range(4):
        _write(root, f"pkg{i}/mod.py", _own_code(f"pkg{i}", 40))
    corpus = list_installed(10_000_000, 10_000_000, root=root)
    monkeypatch.setattr(code_model, "training_corpus", lambda config: corpus)
    spec = ModelSpec(
        hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64,
        moe_intermediate_size=16, n_routed_experts=4, num_experts_per_tok=2,
    )  # fmt: skip
    config = dataclasses.replace(
        code_model.CodeModelConfig(), vocab_size=300, steps=25, batch_size=4, seq_len=32, spec=spec
    )

    report = code_model.train_code_model(tmp_path / "model", config)

    record = json.loads((tmp_path / "model" / "training.json").read_text())
    assert record["corpus_sha256"] == code_model.corpus_digest(corpus) == report.corpus_sha256
    assert record["files"] == 4 and record["config"]["steps"] == 25
    loaded = code_model.load_code_model(tmp_path / "model")
    text = corpus[0].text
    ids = loaded.tokenizer(text)["input_ids"]
    assert loaded.tokenizer.decode(ids) == text and len(ids) < len(text) / 1.5
    # What was saved is the trained model: it predicts the corpus better than the same
    # architecture, tokenizer and seed before training.
    untrained = build_text_model(spec, [c.text for c in corpus], vocab_size=300, seed=config.seed)
    batch = torch.tensor([ids[:128]])
    with torch.inference_mode():
        trained_loss = loaded.module(batch, labels=batch).loss.item()
        untrained_loss = untrained.module(batch, labels=batch).loss.item()
    assert report.eval_loss < report.initial_eval_loss
    assert trained_loss < untrained_loss - 0.1
