"""Tokenizers built here, with no hub: byte-level BPE for code and text, and word-level field
tokens for structured records serialised as text. Both wrap into ``PreTrainedTokenizerFast`` so
they save beside the model and ``AutoTokenizer`` reloads them."""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>", "<unk>")


def _wrap(tok: Tokenizer) -> PreTrainedTokenizerFast:
    # No post-processor adds <eos>: it would end every generation prompt (FIELD_NOTES);
    # callers add <bos> themselves.
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        bos_token="<bos>",
        eos_token="<eos>",
        unk_token="<unk>",
        model_max_length=1_000_000,
    )


def train_bpe_tokenizer(
    texts: Iterable[str], vocab_size: int = 4096, min_frequency: int = 2
) -> PreTrainedTokenizerFast:
    """Byte-level BPE: every byte sequence round-trips exactly, so any code can be encoded."""
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    # trim_offsets=False keeps character offsets exact for per-token feature spans.
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return _wrap(tok)


def build_field_tokenizer(vocabulary: Iterable[str]) -> PreTrainedTokenizerFast:
    """Word-level tokens such as ``amt_bucket_12 mcc_5411 hour_14``, split on whitespace."""
    vocab = {t: i for i, t in enumerate(SPECIAL_TOKENS)}
    for word in vocabulary:
        vocab.setdefault(word, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return _wrap(tok)
