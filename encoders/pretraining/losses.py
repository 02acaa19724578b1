"""Contrastive losses of the pretraining: SatCLIP's symmetric InfoNCE and CSP's ``contsoftmax``.

Inputs are torch tensors: (B, D) embeddings of B paired locations and images, ``logit_scale``
the log of the inverse temperature. Soft targets are (B, B) row-stochastic matrices.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .config import CSPConfig

if TYPE_CHECKING:
    from torch import Tensor, nn


def soft_targets(teacher: Tensor, tau: float = 0.1) -> Tensor:
    """Row-stochastic targets ``softmax_j(cos(t_i, t_j) / tau)`` from (B, D) teacher features.

    Identical teacher features get identical target mass; the matrix is symmetric before
    the row softmax, so the same targets serve both directions of the symmetric loss.
    """
    import torch.nn.functional as F

    z = F.normalize(teacher.float(), dim=1)
    return F.softmax(z @ z.T / tau, dim=1)


def clip_loss(loc_emb: Tensor, img_emb: Tensor, logit_scale: Tensor, targets: Tensor | None = None) -> Tensor:
    """Symmetric InfoNCE of L2-normalised embeddings; ``targets`` (B, B) rows are soft labels
    (None: the diagonal, i.e. hard targets)."""
    import torch
    import torch.nn.functional as F

    loc = F.normalize(loc_emb, dim=1)
    img = F.normalize(img_emb, dim=1)
    logits = logit_scale.exp() * loc @ img.T
    if targets is None:
        labels = torch.arange(logits.shape[0])
        return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))
    lp_l = F.log_softmax(logits, dim=1)
    lp_i = F.log_softmax(logits.T, dim=1)
    return 0.5 * (-(targets * lp_l).sum(1).mean() - (targets.T * lp_i).sum(1).mean())


def csp_loss(model: nn.Module, xl: Tensor, img_emb: Tensor, neg_xl: Tensor, cfg: CSPConfig,
             targets: Tensor | None = None) -> Tensor:
    """CSP-MC-BLD ``contsoftmax``: in-batch location->image softmax (temperature = the model's
    logit scale) + ``csp_neg_weight`` x softmax of the true location against a random location
    for each image (temperature ``csp_temp_negloc``) + ``csp_simcse_weight`` x SimCSE between two
    dropout views of the location embeddings (temperature ``csp_temp_simcse``).

    ``xl``/``neg_xl``: location-tower inputs of the batch and of the random locations."""
    import torch
    import torch.nn.functional as F

    b = xl.shape[0]
    labels = torch.arange(b)
    loc = F.normalize(model.location(xl), dim=1)
    img = F.normalize(img_emb, dim=1)
    logits = model.logit_scale.exp() * loc @ img.T
    if targets is None:
        loss = F.cross_entropy(logits, labels)
    else:
        loss = -(targets * F.log_softmax(logits, dim=1)).sum(1).mean()
    if cfg.csp_neg_weight:
        neg = F.normalize(model.location(neg_xl), dim=1)
        pair = torch.stack([(loc * img).sum(1), (neg * img).sum(1)], dim=1) / cfg.csp_temp_negloc
        loss = loss + cfg.csp_neg_weight * F.cross_entropy(pair, torch.zeros(b, dtype=torch.long))
    if cfg.csp_simcse_weight:
        loc2 = F.normalize(model.location(xl), dim=1)
        loss = loss + cfg.csp_simcse_weight * F.cross_entropy(loc @ loc2.T / cfg.csp_temp_simcse, labels)
    return loss


__all__ = ["soft_targets", "clip_loss", "csp_loss"]
