"""Linear CKA (centered kernel alignment, Kornblith et al. 2019) between the thoughts of two
models, at every pair of iterations.

For feature matrices X (n x p) and Y (n x q) of the same n instances, with columns centred,

    CKA(X, Y) = ||Yᵀ X||²_F / (||Xᵀ X||_F · ||Yᵀ Y||_F)
              = <HKH, HLH> / (||HKH||_F · ||HLH||_F),   K = X Xᵀ, L = Y Yᵀ, H = I − 11ᵀ/n.

It is invariant to orthogonal transforms and isotropic scaling of either representation and
is 1 for identical ones. The paper (section 5.3) finds a feed-forward ConvNet closer to its
recurrent twin of the same effective depth than to feed-forward nets of other depths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from dtcli.analysis.common import batch_size_for, check_iterations, lockstep, model_name


def center_gram(k: torch.Tensor) -> torch.Tensor:
    """H K H: subtract the row and column means and add back the grand mean."""
    return k - k.mean(0, keepdim=True) - k.mean(1, keepdim=True) + k.mean()


def linear_cka(x: torch.Tensor, y: torch.Tensor) -> float:
    """Linear CKA between ``x`` (n, ...) and ``y`` (n, ...), features flattened. Uses the
    feature-space form when the features are fewer than the instances, else the Gram form."""
    if len(x) != len(y):
        raise ValueError(f"CKA needs the same instances in both: {len(x)} vs {len(y)} rows")
    x = x.flatten(1).double()
    y = y.flatten(1).double()
    x = x - x.mean(0)
    y = y - y.mean(0)
    if max(x.shape[1], y.shape[1]) < len(x):
        num = (y.T @ x).square().sum()
        den = torch.linalg.matrix_norm(x.T @ x) * torch.linalg.matrix_norm(y.T @ y)
    else:
        k, l_ = x @ x.T, y @ y.T  # already centred: X centred makes X Xᵀ = H K H
        num = (k * l_).sum()
        den = torch.linalg.matrix_norm(k) * torch.linalg.matrix_norm(l_)
    return float(num / den) if den > 0 else float("nan")


def iteration_grams(net, x: torch.Tensor, iters: int, batch_size: int | None = None,
                    on_iteration: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """``(iters, n·n)``: the centred linear Gram matrix of the (flattened) thoughts after each
    iteration, scaled to unit Frobenius norm, so CKA is a dot product of two rows."""
    check_iterations(net, iters)
    size = batch_size_for(net, x, batch_size)
    n = len(x)
    out = torch.empty(iters, n * n, dtype=torch.float64)
    net.eval()
    with torch.inference_mode():
        for i, thoughts in lockstep(net, x, iters, size):
            feats = torch.cat([t.flatten(1) for t in thoughts]).double().cpu()
            k = center_gram(feats @ feats.T).flatten()
            norm = k.norm()
            out[i - 1] = k / norm if norm > 0 else k
            if on_iteration is not None:
                on_iteration(i, iters)
    return out


@dataclass
class CKAResult:
    """CKA between every iteration of model A (rows) and of model B (columns)."""

    model_a: str
    model_b: str
    iters_a: list[int]
    iters_b: list[int]
    depths_a: list[int]
    depths_b: list[int]
    matrix: list[list[float]]
    count: int
    extra: dict[str, Any] = field(default_factory=dict)

    def same_depth(self) -> list[dict[str, Any]]:
        """For each row with a column of the same effective depth: that entry, the row's
        highest entry, and whether the same-depth entry is the highest."""
        out = []
        for r, depth in enumerate(self.depths_a):
            if depth not in self.depths_b:
                continue
            c = self.depths_b.index(depth)
            row = self.matrix[r]
            best = max(range(len(row)), key=lambda j: row[j])
            out.append({"iteration_a": self.iters_a[r], "iteration_b": self.iters_b[c],
                        "effective_depth": depth, "cka": row[c],
                        "row_max": row[best], "row_argmax_iteration_b": self.iters_b[best],
                        "highest_in_row": row[c] >= row[best] - 1e-12})
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"model_a": self.model_a, "model_b": self.model_b, "count": self.count,
                "iters_a": self.iters_a, "iters_b": self.iters_b, "depths_a": self.depths_a,
                "depths_b": self.depths_b, "matrix": self.matrix,
                "same_depth": self.same_depth(), **self.extra}


def cka(a, b, x: torch.Tensor, iters_a: int, iters_b: int, *, batch_size: int | None = None,
        on_iteration: Callable[[int, int], None] | None = None) -> CKAResult:
    """Linear CKA between the thoughts of loaded models ``a`` and ``b`` after every iteration,
    on the same inputs ``x`` (``b`` may be ``a``: CKA between one model's iterations)."""
    total = iters_a + (0 if b is a else iters_b)

    def progress(offset: int) -> Callable[[int, int], None] | None:
        return None if on_iteration is None else (lambda i, _: on_iteration(offset + i, total))

    grams_a = iteration_grams(a.net, x, iters_a, batch_size, progress(0))
    if b is a:
        grams_b = grams_a if iters_b == iters_a else grams_a[:iters_b]
        if iters_b > iters_a:
            grams_b = iteration_grams(b.net, x, iters_b, batch_size)
    else:
        grams_b = iteration_grams(b.net, x, iters_b, batch_size, progress(iters_a))
    matrix = (grams_a @ grams_b.T).tolist()
    return CKAResult(model_a=model_name(a), model_b=model_name(b),
                     iters_a=list(range(1, iters_a + 1)), iters_b=list(range(1, iters_b + 1)),
                     depths_a=[a.net.effective_depth(i) for i in range(1, iters_a + 1)],
                     depths_b=[b.net.effective_depth(i) for i in range(1, iters_b + 1)],
                     matrix=matrix, count=len(x))
