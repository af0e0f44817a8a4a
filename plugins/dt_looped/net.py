"""The looped transformer's network: ``answer(Block^m(start(x)))`` with the input embedding
injected before every loop (see :mod:`dt_looped.arch` for the paper and the choices).

Thoughts are ``(B, width, L)``, dt's 1D layout; the block works on ``(B, L, width)`` inside.
What does not change from loop to loop (the input embedding, the attention bias of the
relative positions and the causal mask, RoPE's angles) is computed once per instance in
:meth:`LoopedTransformerNet.encode_input`. Attention is ``F.scaled_dot_product_attention``;
where the fused kernel has no forward-mode derivative (``torch.func.jvp``, used by
``dt analyze stability``) the same call runs on torch's math kernel.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from dtcli.api import IterativeNet


class Injection(NamedTuple):
    """What every loop needs of the input, computed once per instance."""

    embedded: torch.Tensor                    # (B, L, width): added before every loop
    bias: torch.Tensor | None                 # (H, L, keys): additive attention bias, or None
    rope: tuple[torch.Tensor, torch.Tensor] | None  # cos, sin: (L, head_dim / 2)


def sinusoidal(length: int, width: int, device, dtype) -> torch.Tensor:
    """Vaswani et al.'s absolute position encoding, (length, width), for any length."""
    pos = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    half = torch.arange(0, width, 2, device=device, dtype=torch.float32)
    angle = pos * torch.exp(-math.log(10000.0) * half / width)
    out = torch.zeros(length, width, device=device, dtype=torch.float32)
    out[:, 0::2] = torch.sin(angle)
    out[:, 1::2] = torch.cos(angle[:, : width // 2])
    return out.to(dtype)


def rope_angles(length: int, head_dim: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    freq = 10000.0 ** (-torch.arange(0, head_dim, 2, device=device, dtype=torch.float32) / head_dim)
    angle = torch.arange(length, device=device, dtype=torch.float32)[:, None] * freq
    return angle.cos(), angle.sin()


def apply_rope(t: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Rotate pairs (even, odd) of ``t`` (B, H, L, head_dim) by their position's angles."""
    cos, sin = (a.to(t.dtype) for a in rope)
    even, odd = t[..., 0::2], t[..., 1::2]
    return torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1).flatten(-2)


def attend(q, k, v, bias, causal: bool, dropout: float) -> torch.Tensor:
    """``F.scaled_dot_product_attention``; on its math kernel where the fused one cannot be
    differentiated forward (inside ``torch.func.jvp``)."""
    kwargs = dict(attn_mask=None if bias is None else bias.to(q.dtype), dropout_p=dropout,
                  is_causal=causal and bias is None)
    try:
        return F.scaled_dot_product_attention(q, k, v, **kwargs)
    except NotImplementedError:
        from torch.nn.attention import SDPBackend, sdpa_kernel

        with sdpa_kernel([SDPBackend.MATH]):
            return F.scaled_dot_product_attention(q, k, v, **kwargs)


class SelfAttention(nn.Module):
    """Multi-head self-attention over all positions with an optional learned sink key/value
    and a learned relative-position bias (the bias itself is built in ``encode_input``)."""

    def __init__(self, width: int, heads: int, *, sink: bool, dropout: float) -> None:
        super().__init__()
        self.heads, self.head_dim, self.dropout = heads, width // heads, dropout
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        if sink:  # zeros: at first the edge looks like a DT net's zero padding
            self.sink_k = nn.Parameter(torch.zeros(heads, 1, self.head_dim))
            self.sink_v = nn.Parameter(torch.zeros(heads, 1, self.head_dim))
        else:
            self.sink_k = self.sink_v = None

    def forward(self, u: torch.Tensor, inj: Injection, causal: bool) -> torch.Tensor:
        b, length, width = u.shape
        q, k, v = self.qkv(u).view(b, length, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        if inj.rope is not None:
            q, k = apply_rope(q, inj.rope), apply_rope(k, inj.rope)
        if self.sink_k is not None:
            k = torch.cat((self.sink_k.to(k.dtype).expand(b, -1, -1, -1), k), dim=2)
            v = torch.cat((self.sink_v.to(v.dtype).expand(b, -1, -1, -1), v), dim=2)
        out = attend(q, k, v, inj.bias, causal, self.dropout if self.training else 0.0)
        return self.proj(out.transpose(1, 2).reshape(b, length, width))


class LoopedTransformerNet(IterativeNet):
    """``start``: the input embedding; ``think``: one transformer block on thought + input
    embedding; ``answer``: a linear head per position."""

    recurrent = True
    spatial_dims = 1
    layers_before = 1   # the embedding
    layers_per_iter = 2  # attention and MLP, each a residual branch
    layers_after = 1    # the head

    def __init__(self, config: dict[str, Any], *, in_channels: int, num_classes: int) -> None:
        super().__init__(config)
        width, heads = config["width"], config["heads"]
        self.causal = config["attention"] == "causal"
        self.pre_norm = config["norm"] == "pre"
        self.embed = nn.Linear(in_channels, width)
        self.attn = SelfAttention(width, heads, sink=config["sink"], dropout=config["dropout"])
        hidden = max(1, round(config["mlp_ratio"] * width))
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.drop = nn.Dropout(config["dropout"])
        if config["position"] == "relative":
            # causal: offsets 0..max_distance back; bidirectional: -max_distance..max_distance
            span = config["max_distance"] + 1 if self.causal else 2 * config["max_distance"] + 1
            self.rel_bias = nn.Parameter(torch.zeros(heads, span))
        else:
            self.rel_bias = None
        self.final_norm = nn.LayerNorm(width) if self.pre_norm else None
        self.head = nn.Linear(width, num_classes)

    # -- the input ------------------------------------------------------------------------

    def _embedding(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, width): each position's channels mapped to width (+ sinusoidal positions)."""
        e = self.embed(x.transpose(1, 2).to(self.embed.weight.dtype))
        if self.config["position"] == "sinusoidal":
            e = e + sinusoidal(e.shape[1], e.shape[2], e.device, e.dtype)
        return e

    def _bias(self, length: int, device) -> torch.Tensor | None:
        """(H, L, keys): relative-position bias and causal mask (-inf), a zero column for the
        sink in front; None where neither is needed (then SDPA's own causal flag is used)."""
        sink = self.attn.sink_k is not None
        if self.rel_bias is None and not (sink and self.causal):
            return None
        heads = self.config["heads"]
        pos = torch.arange(length, device=device)
        offset = pos[:, None] - pos[None, :]  # query - key: > 0 looks back
        if self.rel_bias is not None:
            d = self.config["max_distance"]
            index = offset.clamp(0, d) if self.causal else offset.clamp(-d, d) + d
            bias = self.rel_bias[:, index]
        else:
            bias = torch.zeros(heads, length, length, device=device)
        if self.causal:
            bias = bias.masked_fill(offset < 0, float("-inf"))
        if sink:
            bias = torch.cat((bias.new_zeros(heads, length, 1), bias), dim=2)
        return bias

    def encode_input(self, x: torch.Tensor) -> Injection:
        length = x.shape[-1]
        rope = None
        if self.config["position"] == "rope":
            rope = rope_angles(length, self.attn.head_dim, x.device)
        return Injection(self._embedding(x), self._bias(length, x.device), rope)

    # -- the three parts -------------------------------------------------------------------

    def start(self, x: torch.Tensor) -> torch.Tensor:
        return self._embedding(x).transpose(1, 2).contiguous()

    def think(self, thought: torch.Tensor, x: Any, i: int) -> torch.Tensor:
        inj = x if isinstance(x, Injection) else self.encode_input(x)
        u = thought.transpose(1, 2) + inj.embedded  # input injection
        if self.pre_norm:
            u = u + self.drop(self.attn(self.norm1(u), inj, self.causal))
            u = u + self.drop(self.mlp(self.norm2(u)))
        else:
            u = self.norm1(u + self.drop(self.attn(u, inj, self.causal)))
            u = self.norm2(u + self.drop(self.mlp(u)))
        return u.transpose(1, 2).contiguous()

    def answer(self, thought: torch.Tensor) -> torch.Tensor:
        h = thought.transpose(1, 2)
        if self.final_norm is not None:
            h = self.final_norm(h)
        return self.head(h).transpose(1, 2).contiguous()

    def weight_decay_exempt(self) -> list[nn.Parameter]:
        """Biases, norms, the relative-position table and the sink: no weight decay (the
        usual transformer practice)."""
        return [p for name, p in self.named_parameters()
                if p.ndim < 2 or name.startswith("rel_bias") or ".sink_" in name]
