"""What one chunk of a larger input needs from the rest of it to score exactly as the whole.

Inputs are split by customer (`fraud.pipeline.score_file`'s groups, the workers' chunks), so a
customer's own features and sequence are whole inside a chunk. Two things reach across
customers: entity features (a terminal's activity and label risk count every customer's rows,
`fraud.entity_features.ContextEvents`) and record models over another entity's sequence (a
terminal's transactions, from every card). For the second a chunk takes, from the whole input,
the rows of every terminal (merchant...) its own rows touch (`context_rows`), runs the record
model over those whole sequences and keeps its own rows' features (`sequence_features`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fraud.feature_schema import string_keys

#: Columns the record models read (tokenised fields and the sequence keys); the transaction id
#: aligns a chunk's rows with their place in the whole input.
SEQUENCE_COLUMNS = (
    "transaction_id",
    "timestamp",
    "amount",
    "customer_id",
    "mcc",
    "channel",
    "merchant_id",
    "country",
)
_CUSTOMER = "customer_id"


def _models(sequence: Any) -> list[Any]:
    # A SequenceSet holds several record models; a SequenceModel is one.
    return list(getattr(sequence, "models", [sequence])) if sequence is not None else []


def cross_entities(bundle: Any) -> tuple[str, ...]:
    """Entities other than the customer whose record model reads their whole sequence."""
    return tuple(m.config.entity for m in _models(bundle.sequence) if m.config.entity != _CUSTOMER)


def needs_whole_input(bundle: Any) -> bool:
    """Whether a customer-split chunk needs the rest of its input to score as the whole does.

    True when the bundle has entity features (activity and risk count every customer's rows
    and labels) or a record model over a terminal's, merchant's... sequence.
    """
    schema = bundle.schema
    entity_features = any(n.startswith(f"{e}_") for e in schema.entities for n in schema.names)
    return entity_features or bool(cross_entities(bundle))


def context_rows(frame: pd.DataFrame, bundle: Any) -> pd.DataFrame | None:
    """The columns of the whole input that record models over other entities read.

    None when the bundle has no such model (a chunk's own rows are then enough).
    """
    entities = cross_entities(bundle)
    if not entities:
        return None
    cols = [c for c in dict.fromkeys((*SEQUENCE_COLUMNS, *entities)) if c in frame.columns]
    return frame[cols].reset_index(drop=True)


def sequence_features(
    sequence: Any, frame: pd.DataFrame, context: pd.DataFrame | None
) -> pd.DataFrame:
    """Sequence features of ``frame``'s rows, each entity's sequence read from ``context``.

    Args:
        sequence: a bundle's `SequenceModel` or `SequenceSet`.
        frame: the rows to score (one customer-split chunk of an input, or all of it).
        context: the whole input's `context_rows` (in input order), or None when ``frame`` is
            the whole input.

    Returns:
        One column per sequence feature, index aligned with ``frame``.
    """
    parts = []
    for model in _models(sequence):
        entity = model.config.entity
        if context is None or entity == _CUSTOMER or entity not in frame.columns:
            parts.append(model.features(frame))
            continue
        wanted = {k for k in string_keys(frame[entity]) if k is not None}
        keys = string_keys(context[entity])
        own = context[np.fromiter((k in wanted for k in keys), bool, len(keys))]
        feats = model.features(own)
        # Transaction ids are unique in validated input; a row without an entity key has no
        # sequence, so reindexing leaves it NaN as `features` does.
        feats.index = own["transaction_id"].astype(str).to_numpy()
        aligned = feats.reindex(frame["transaction_id"].astype(str).to_numpy())
        aligned.index = frame.index
        parts.append(aligned)
    return pd.concat(parts, axis=1)
