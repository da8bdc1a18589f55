"""What one chunk of a larger input needs from the rest of it to score exactly as the whole.

Inputs are split by customer (`fraud.pipeline.score_file`'s groups, the workers' chunks), so a
customer's own features and sequence are whole inside a chunk. Two things reach across
customers: entity features (a terminal's activity and label risk count every customer's rows,
`fraud.entity_features.ContextEvents`) and record models over another entity's sequence (a
terminal's transactions, from every card). The second are computed once over the whole input
(`context_rows`: one pass, as whole-file scoring does) and each chunk looks its rows up by
transaction id (`sequence_features`); running the model per chunk over the whole sequences of
the terminals it touches gave the same values but repeated most of the work in every chunk.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

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
    """Features of the record models over other entities' sequences, for every row of the
    whole input ``frame``, with its ``transaction_id``.

    None when the bundle has no such model (a chunk's own rows are then enough).
    """
    models = [m for m in _models(bundle.sequence) if m.config.entity != _CUSTOMER]
    if not models:
        return None
    parts = [m.features(frame) for m in models if m.config.entity in frame.columns]
    out = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=frame.index)
    out.insert(0, "transaction_id", frame["transaction_id"].astype(str).to_numpy())
    return out.reset_index(drop=True)


def sequence_features(
    sequence: Any, frame: pd.DataFrame, context: pd.DataFrame | None
) -> pd.DataFrame:
    """Sequence features of ``frame``'s rows; other entities' from ``context`` when given.

    Args:
        sequence: a bundle's `SequenceModel` or `SequenceSet`.
        frame: the rows to score (one customer-split chunk of an input, or all of it).
        context: the whole input's `context_rows`, or None when ``frame`` is the whole input.

    Returns:
        One column per sequence feature, index aligned with ``frame``.
    """
    parts = []
    ids = frame["transaction_id"].astype(str).to_numpy() if context is not None else None
    for model in _models(sequence):
        names = list(model.names)
        if context is None or model.config.entity == _CUSTOMER:
            parts.append(model.features(frame))
            continue
        # Transaction ids are unique in validated input; a row of a file without the entity
        # column (or without a key) has no sequence and stays NaN, as `features` leaves it.
        known = [n for n in names if n in context.columns]
        table = context.set_index("transaction_id")[known].reindex(columns=names)
        aligned = table.reindex(ids)
        aligned.index = frame.index
        parts.append(aligned)
    return pd.concat(parts, axis=1)
