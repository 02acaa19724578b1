"""Random convolutional features (RCF), the featurisation of MOSAIKS (Rolf et al. 2021).

One implementation, used by the ``mosaiks`` encoder and as the frozen image teacher for
SatCLIP/CSP pretraining. :meth:`RCFeaturizer.fit` samples ``k`` random ``patch x patch x C``
patches from the given images (seeded) and ZCA-whitens them; the whitened patches are
the filters. :meth:`RCFeaturizer.transform` whitens every input patch the same way,
correlates it with each filter (valid convolution), and average-pools
``ReLU(z - bias)`` and ``ReLU(-z - bias)`` over the image: ``2k`` float32 features.

Whitening input patches ``x -> W (x - mu)`` and correlating with filter ``g`` equals a
plain convolution of the raw image with kernel ``W g`` minus the constant ``(W g) . mu``,
which is how it is computed (exact, no unfolding). Filters are scaled to unit length in
whitened space, so ``z`` has roughly unit variance over the fitting patches and
``bias = 1`` (the MOSAIKS value) thresholds at about one standard deviation.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from geobench.errors import InputError
from geobench.threads import default_threads, limit_threads


def _check_images(images: np.ndarray, what: str, channels: int | None = None, patch: int = 1) -> np.ndarray:
    a = np.asarray(images)
    if a.ndim != 4:
        raise InputError(f"{what}: expected images of shape (N, C, H, W), got {a.shape}")
    if channels is not None and a.shape[1] != channels:
        raise InputError(f"{what}: images have {a.shape[1]} channels but the featurizer was fitted on {channels}")
    if a.shape[2] < patch or a.shape[3] < patch:
        raise InputError(f"{what}: images of {a.shape[2]}x{a.shape[3]} px are smaller than the {patch} px patch")
    if a.shape[0] == 0:
        raise InputError(f"{what}: no images")
    return np.ascontiguousarray(a, dtype=np.float32)


@dataclass
class RCFeaturizer:
    """MOSAIKS-style random convolutional features: ``transform`` gives (N, 2k) float32.

    Parameters: ``k`` filters of ``patch`` x ``patch`` x C; ``seed`` for patch sampling;
    ``whiten`` (ZCA; if False, patches are only centred and scaled by their overall std);
    ``bias`` of the two ReLUs; ``eps`` the ZCA regulariser, relative to the mean
    eigenvalue of the patch covariance; ``n_whiten`` patches used to estimate the
    whitening (the first ``k`` of them are the filters); ``threads`` torch threads
    (0: ``$GEOBENCH_THREADS``, default 2);
    ``chunk`` images per convolution call (0: as many as keep the (chunk, k, H', W')
    response under ``chunk_elems`` floats, 8 MB by default: small chunks stay in cache
    and are several times faster than large ones).
    """

    k: int
    patch: int = 3
    seed: int = 0
    whiten: bool = True
    bias: float = 1.0
    eps: float = 1e-2
    n_whiten: int = 20_000
    threads: int = 0
    chunk: int = 0
    chunk_elems: int = 1 << 21
    mean: np.ndarray | None = field(default=None, repr=False)  # (d,) patch mean, d = C * patch^2
    zca: np.ndarray | None = field(default=None, repr=False)  # (d, d) whitening matrix W
    filters: np.ndarray | None = field(default=None, repr=False)  # (k, C, p, p) whitened, unit length
    kernel: np.ndarray | None = field(default=None, repr=False)  # (k, C, p, p) = W g, applied to raw input
    offset: np.ndarray | None = field(default=None, repr=False)  # (k,) = kernel . mean

    def __post_init__(self) -> None:
        if self.k < 1 or self.patch < 1:
            raise InputError(f"RCFeaturizer needs k >= 1 and patch >= 1, got k={self.k}, patch={self.patch}")

    @property
    def dim(self) -> int:
        return 2 * self.k

    def fit(self, images: np.ndarray) -> "RCFeaturizer":
        """Sample patches from ``images`` (N, C, H, W) float and build the filters. Returns self."""
        a = _check_images(images, "RCFeaturizer.fit", patch=self.patch)
        n, c, h, w = a.shape
        p = self.patch
        rng = np.random.default_rng(self.seed)
        m = max(self.k, self.n_whiten)
        idx = rng.integers(0, n, m)
        i0 = rng.integers(0, h - p + 1, m)
        j0 = rng.integers(0, w - p + 1, m)
        d = np.arange(p)
        pts = a[idx[:, None, None, None], np.arange(c)[None, :, None, None],
                (i0[:, None] + d)[:, None, :, None], (j0[:, None] + d)[:, None, None, :]]
        x = pts.reshape(m, -1).astype(np.float64)  # (m, c*p*p)
        mu = x.mean(axis=0)
        xc = x - mu
        cov = xc.T @ xc / m
        lam, vec = np.linalg.eigh(cov)
        lam = np.clip(lam, 0.0, None)
        reg = self.eps * max(lam.mean(), 1e-12)
        if self.whiten:
            W = (vec / np.sqrt(lam + reg)) @ vec.T
        else:
            W = np.eye(x.shape[1]) / np.sqrt(lam.mean() + reg)
        g = xc[: self.k] @ W  # W symmetric: rows are W (p - mu)
        g /= np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
        kern = g @ W
        self.mean, self.zca = mu, W
        self.filters = g.reshape(self.k, c, p, p).astype(np.float32)
        self.kernel = kern.reshape(self.k, c, p, p).astype(np.float32)
        self.offset = (kern @ mu).astype(np.float32)
        return self

    def transform(self, images: np.ndarray) -> np.ndarray:
        """Features of ``images`` (N, C, H, W) float -> (N, 2k) float32: [mean ReLU(z-b), mean ReLU(-z-b)]."""
        import torch
        import torch.nn.functional as F

        if self.kernel is None:
            raise InputError("RCFeaturizer.transform called before fit(); call fit(images) first")
        a = _check_images(images, "RCFeaturizer.transform", channels=self.kernel.shape[1], patch=self.patch)
        out = np.empty((a.shape[0], self.dim), dtype=np.float32)
        kern = torch.from_numpy(self.kernel)
        neg_off = torch.from_numpy(-self.offset)  # conv bias: z = kernel * x - kernel . mean
        positions = (a.shape[2] - self.patch + 1) * (a.shape[3] - self.patch + 1)
        chunk = self.chunk or max(1, self.chunk_elems // (self.k * positions))
        b, k = float(self.bias), self.k

        def work(s: int) -> None:
            with torch.no_grad():  # grad mode is per thread
                z = F.conv2d(torch.from_numpy(a[s : s + chunk]), kern, neg_off)
                # mean ReLU(z - b) = mean max(z, b) - b and mean ReLU(-z - b) = -mean min(z, -b) - b:
                # two passes over z instead of six (the final relu_ only removes rounding residue)
                out[s : s + z.shape[0], :k] = (z.clamp_min(b).mean(dim=(2, 3)) - b).relu_().numpy()
                out[s : s + z.shape[0], k:] = (z.clamp_max_(-b).mean(dim=(2, 3)).neg_() - b).relu_().numpy()

        # Chunks are small (cache-resident) and each runs single-threaded; ``threads`` workers take
        # chunks in parallel. This avoids thousands of OpenMP barriers, which stall badly when the
        # machine is busy, and makes the features independent of the thread count.
        workers = min(self.threads or default_threads(), -(-a.shape[0] // chunk))
        starts = range(0, a.shape[0], chunk)
        prev = torch.get_num_threads()
        try:
            with limit_threads(1):
                if workers <= 1:
                    for s in starts:
                        work(s)
                else:
                    from concurrent.futures import ThreadPoolExecutor

                    with ThreadPoolExecutor(workers, initializer=torch.set_num_threads, initargs=(1,)) as ex:
                        list(ex.map(work, starts))
        finally:
            torch.set_num_threads(prev)
        return out

    def fit_transform(self, images: np.ndarray) -> np.ndarray:
        return self.fit(images).transform(images)


__all__ = ["RCFeaturizer"]
