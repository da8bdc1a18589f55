"""Structured records as MoE sequences: one position per record (a transaction), whose field
values are embedded and summed, fed to a transformers MoE backbone through ``inputs_embeds``;
per-field heads predict the next record's fields.

Value 0 of every field means missing/unknown: it embeds to zero and is never a target.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F
from transformers import AutoConfig, AutoModel, PretrainedConfig

from core_model.errors import CoreModelError


@dataclass(frozen=True)
class FieldSpec:
    """A categorical field: values are ints in ``[0, cardinality)``, 0 = missing."""

    name: str
    cardinality: int

    def __post_init__(self) -> None:
        if self.cardinality < 2:
            raise CoreModelError(f"field {self.name!r}: cardinality must be >= 2 (0 is missing)")


@dataclass(frozen=True)
class RecordSchema:
    fields: tuple[FieldSpec, ...]

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if not names or len(set(names)) != len(names):
            raise CoreModelError("a record schema needs at least one field and unique names")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def to_json(self) -> str:
        return json.dumps({"fields": [asdict(f) for f in self.fields]}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> RecordSchema:
        data = json.loads(text)
        return cls(tuple(FieldSpec(f["name"], int(f["cardinality"])) for f in data["fields"]))


class RecordModel(nn.Module):
    """Record sequence model: [start, r_0, ..., r_{T-1}] -> backbone -> h_0..h_T.

    h_t predicts record t from records < t (surprisal), and h_{t+1} is the state "at" record t.
    """

    def __init__(self, backbone: nn.Module, schema: RecordSchema) -> None:
        super().__init__()
        self.schema = schema
        self.backbone = backbone
        hidden = backbone.config.hidden_size
        self.field_embeddings = nn.ModuleList(
            nn.Embedding(f.cardinality, hidden, padding_idx=0) for f in schema.fields
        )
        self.start = nn.Parameter(torch.zeros(hidden))
        self.heads = nn.ModuleList(
            nn.Linear(hidden, f.cardinality, bias=False) for f in schema.fields
        )
        std = backbone.config.initializer_range
        for emb in self.field_embeddings:
            nn.init.normal_(emb.weight, std=std)
            with torch.no_grad():
                emb.weight[0].zero_()
        for head in self.heads:
            nn.init.normal_(head.weight, std=std)

    @property
    def config(self) -> PretrainedConfig:
        return self.backbone.config

    def embed(self, fields: torch.Tensor) -> torch.Tensor:
        """fields [B, T, F] -> inputs_embeds [B, T+1, H] with the start state prepended."""
        summed = sum(emb(fields[..., i]) for i, emb in enumerate(self.field_embeddings))
        start = self.start.to(summed.dtype).expand(fields.shape[0], 1, -1)
        return torch.cat([start, summed], dim=1)

    def forward(
        self,
        fields: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        output_router_logits: bool = False,
    ):
        """Run the backbone; returns (hidden [B, T+1, H], router_logits tuple or None).

        ``attention_mask`` [B, T] marks real records (right padding); the start is always real.
        """
        embeds = self.embed(fields)
        mask = None
        if attention_mask is not None:
            ones = attention_mask.new_ones(attention_mask.shape[0], 1)
            mask = torch.cat([ones, attention_mask], dim=1)
        out = self.backbone(
            inputs_embeds=embeds,
            attention_mask=mask,
            use_cache=False,
            output_router_logits=output_router_logits,
        )
        return out.last_hidden_state, getattr(out, "router_logits", None)

    def field_log_probs(self, hidden: torch.Tensor) -> list[torch.Tensor]:
        """Per field: log p(value) [B, T', cardinality] from hidden states [B, T', H]."""
        return [F.log_softmax(head(hidden).float(), dim=-1) for head in self.heads]

    def field_surprisal(self, fields: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        """-log p(field i of record t | records < t), 0 where the field is missing: [B, T, F]."""
        logps = self.field_log_probs(hidden[:, :-1])
        out = []
        for i, logp in enumerate(logps):
            target = fields[..., i]
            nll = -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1)
            out.append(torch.where(target > 0, nll, torch.zeros_like(nll)))
        return torch.stack(out, dim=-1)

    def surprisal(self, fields: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        """-log p(record t | records < t) summed over known fields: [B, T]."""
        return self.field_surprisal(fields, hidden).sum(-1)

    def loss(
        self,
        fields: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        output_router_logits: bool = True,
    ):
        """Next-record field prediction loss (mean over fields of token-mean cross-entropy).

        Returns (loss, router_logits) so the shared training loop can balance experts.
        """
        hidden, router_logits = self.forward(fields, attention_mask, output_router_logits)
        losses = []
        for i, head in enumerate(self.heads):
            logits = head(hidden[:, :-1]).float()  # [B, T, C]
            target = fields[..., i]
            if attention_mask is not None:
                target = target.masked_fill(attention_mask == 0, 0)
            losses.append(F.cross_entropy(logits.flatten(0, 1), target.flatten(), ignore_index=0))
        loss = torch.stack([x for x in losses if torch.isfinite(x)]).mean()
        return loss, router_logits


def build_record_model(config: PretrainedConfig, schema: RecordSchema) -> RecordModel:
    """A record model on ``AutoModel`` of any transformers MoE config (DeepseekV3 by default)."""
    backbone = AutoModel.from_config(config)
    return RecordModel(backbone, schema)


def record_config_from_dict(data: dict) -> PretrainedConfig:
    data = dict(data)
    model_type = data.pop("model_type")
    return AutoConfig.for_model(model_type, **data)
