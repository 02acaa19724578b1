"""iNaturalist 2018: image + location protocols on the official train/val split.

Two protocols, each reporting top-1/3/5/10 accuracy on the official validation set (the
test set here) and an image-only row for reference:

- ``dual`` (SatCLIP paper, ``--head mlp``): one branch on the image feature, one on the
  location embedding (Linear + ReLU each), concatenated into a linear classifier, trained
  jointly with cross-entropy.
- ``product`` (RANGE, ``--head linear``): an image-only softmax classifier's probabilities
  times a location-only softmax classifier's probabilities (a sum of log-probabilities).

10 % of the official train set (seeded) is held out for early stopping. The task declares
this module on its ``TaskSpec.protocol``; the runner calls :func:`evaluate`.
"""
from __future__ import annotations

import numpy as np

from geobench.errors import NotApplicableError

TOPK = (1, 3, 5, 10)


def _topk(y: np.ndarray, logits: np.ndarray) -> dict[str, float]:
    """top-1/3/5/10 accuracy (ties: the lower class index ranks first, like ``argmax``)."""
    from geobench.evaluation.metrics import topk_accuracy

    return {f"top{k}": topk_accuracy(y, logits, min(k, logits.shape[1])) for k in TOPK}


def _train(make_model, inputs_tr, y_tr, inputs_va, y_va, *, seed: int, n_classes: int, lr: float = 1e-3,
           wd: float = 1e-4, batch: int = 512, max_epochs: int = 100, patience: int = 8):
    import torch

    torch.manual_seed(seed)
    model = make_model()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd)
    g = torch.Generator().manual_seed(seed)
    tr = [torch.as_tensor(np.asarray(a), dtype=torch.float32) for a in inputs_tr]
    va = [torch.as_tensor(np.asarray(a), dtype=torch.float32) for a in inputs_va]
    ytr, yva = torch.as_tensor(y_tr), torch.as_tensor(y_va)
    best, best_state, bad = np.inf, None, 0
    loss_fn = torch.nn.CrossEntropyLoss()
    for _ in range(max_epochs):
        model.train()
        perm = torch.randperm(ytr.shape[0], generator=g)
        for s in range(0, perm.numel(), batch):
            idx = perm[s:s + batch]
            opt.zero_grad()
            loss_fn(model(*[t[idx] for t in tr]), ytr[idx]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            v = float(loss_fn(model(*va), yva))
        if v < best - 1e-5:
            best, bad = v, 0
            best_state = {k: t.clone() for k, t in model.state_dict().items()}
        else:
            bad += 1
            if bad >= patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    return model


def _models(d_img: int, d_loc: int, n_classes: int, hidden: int):
    import torch
    from torch import nn

    class Linear1(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.fc = nn.Linear(d, n_classes)

        def forward(self, x):
            return self.fc(x)

    class Dual(nn.Module):
        def __init__(self):
            super().__init__()
            self.img = nn.Sequential(nn.Linear(d_img, hidden), nn.ReLU())
            self.loc = nn.Sequential(nn.Linear(d_loc, hidden), nn.ReLU())
            self.out = nn.Linear(2 * hidden, n_classes)

        def forward(self, xi, xl):
            return self.out(torch.cat([self.img(xi), self.loc(xl)], 1))

    return Linear1, Dual


def evaluate_inat(img: np.ndarray, loc: np.ndarray, y: np.ndarray, is_test: np.ndarray, protocol: str, *,
                  n_classes: int, seed: int, hidden: int = 256) -> dict[str, float]:
    """Metrics of ``protocol`` ('dual' or 'product') plus the image-only classifier (``img_top*``)."""
    import torch

    rng = np.random.default_rng(seed)
    train_all = np.flatnonzero(~is_test)
    perm = rng.permutation(train_all)
    n_val = max(1, int(round(0.1 * perm.size)))
    va, tr, te = np.sort(perm[:n_val]), np.sort(perm[n_val:]), np.flatnonzero(is_test)
    img = (img - img[tr].mean(0)) / (img[tr].std(0) + 1e-8)
    loc = (loc - loc[tr].mean(0)) / (loc[tr].std(0) + 1e-8)
    Linear1, Dual = _models(img.shape[1], loc.shape[1], n_classes, hidden)
    kw = dict(seed=seed, n_classes=n_classes)
    img_model = _train(lambda: Linear1(img.shape[1]), [img[tr]], y[tr], [img[va]], y[va], **kw)
    with torch.no_grad():
        img_logp = torch.log_softmax(img_model(torch.as_tensor(img[te], dtype=torch.float32)), 1).numpy()
    out = {f"img_{k}": v for k, v in _topk(y[te], img_logp).items()}
    if protocol == "dual":
        m = _train(Dual, [img[tr], loc[tr]], y[tr], [img[va], loc[va]], y[va], **kw)
        with torch.no_grad():
            logits = m(torch.as_tensor(img[te], dtype=torch.float32), torch.as_tensor(loc[te], dtype=torch.float32)).numpy()
    elif protocol == "product":
        m = _train(lambda: Linear1(loc.shape[1]), [loc[tr]], y[tr], [loc[va]], y[va], **kw)
        with torch.no_grad():
            loc_logp = torch.log_softmax(m(torch.as_tensor(loc[te], dtype=torch.float32)), 1).numpy()
        logits = img_logp + loc_logp
    else:
        raise ValueError(protocol)
    out.update(_topk(y[te], logits))
    out["accuracy"] = out["top1"]
    return out


PROTOCOL_BY_HEAD = {"mlp": "dual", "linear": "product"}


def evaluate(points, X: np.ndarray, *, head: str, seed: int, n_threads: int):
    """The iNaturalist protocol of ``head`` on the official split (the split option is not used).

    ``points`` is the task's :class:`~geobench.tasks.base.Points`, ``X`` its location embedding
    (rows = points). Raises NotApplicableError for a head without a protocol.
    """
    from .base import ProtocolResult
    from .inaturalist import features_for_points

    protocol = PROTOCOL_BY_HEAD.get(head)
    if protocol is None:
        raise NotApplicableError(f"head {head!r} has no iNaturalist protocol (use {', '.join(PROTOCOL_BY_HEAD)})")
    df = points.df
    is_test = (df["split"] == "val").to_numpy()
    metrics = evaluate_inat(features_for_points(df), X, points.y, is_test, protocol,
                            n_classes=len(points.classes), seed=seed)
    return ProtocolResult(metrics, {"protocol": protocol}, n_train=int((~is_test).sum()), n_val=0,
                          n_test=int(is_test.sum()),
                          warnings=("official train/val split used; the split option is ignored for this task",))
