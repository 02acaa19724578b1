"""MOSAIKS baseline: random convolutional features of Blue Marble crops around each point.

A weak proxy of MOSAIKS (Rolf et al., "A generalizable and accessible approach to machine
learning with global satellite imagery", Nature Communications 2021). The original
featurises Planet RGB imagery at about 4 m/px (roughly 1 km x 1 km tiles) with K = 4,000
random 3x3 patches, giving 8,192 features. Here the imagery is NASA Blue Marble RGB at
4 arc-min (about 7.4 km/px at the equator), so the features describe land cover, colour
and texture at a scale of ~100 km, not the original's ~1 km.

The filters are fitted on crops at ``n_fit`` seeded, area-uniform random points on the
sphere (:func:`geobench.tasks.sampling.sample_sphere`), never on the task's points, so a
point's features do not depend on the task it is in.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from geobench.coords import validate_lonlat
from geobench.encoding import register_encoder
from geobench.errors import InputError


@dataclass
class MosaiksEncoder:
    """``encode((n, 2) lon/lat degrees) -> (n, 2k) float32`` RCF features of Blue Marble crops."""

    featurizer: object = field(repr=False)  # a fitted geobench.encoders.rcf.RCFeaturizer
    size: int
    meta: dict = field(default_factory=dict)
    name: str = "mosaiks"
    dim: int = 0
    chunk: int = 4096

    def encode(self, lonlat: np.ndarray) -> np.ndarray:
        from tqdm.auto import tqdm

        from .imagery import iter_crops

        x = validate_lonlat(lonlat, what="mosaiks input")
        n = x.shape[0]
        out = np.empty((n, self.dim), dtype=np.float32)
        s = 0
        with tqdm(total=n, desc="embed mosaiks", unit="pt", leave=False, disable=n < 4 * self.chunk) as bar:
            for imgs in iter_crops(x, self.size, chunk=self.chunk):
                out[s : s + imgs.shape[0]] = self.featurizer.transform(imgs)
                s += imgs.shape[0]
                bar.update(imgs.shape[0])
        return out


@register_encoder(
    "mosaiks",
    kind="parameter-free",
    citation="Rolf et al. A generalizable and accessible approach to machine learning with global "
             "satellite imagery. Nature Communications 12, 4392 (2021)",
    license="MIT (this implementation); Blue Marble imagery: NASA, public domain",
    description="MOSAIKS-style random convolutional features of Blue Marble crops (weak proxy: "
                "7.4 km/px RGB instead of Planet ~4 m/px)",
)
def mosaiks(*, k: int = 256, size: int = 32, patch: int = 3, bias: float = 1.0, n_fit: int = 2000,
            seed: int = 0) -> MosaiksEncoder:
    """MOSAIKS-style random convolutional features of Blue Marble crops; (lon, lat) in, (n, 2k) out.

    ``k`` random ``patch`` x ``patch`` filters (ZCA-whitened, seeded by ``seed``) are drawn
    from crops at ``n_fit`` uniform random points on the sphere; every point's crop of
    ``size`` x ``size`` px (4 arc-min/px; 32 px is about 237 km at the equator) is
    convolved with them and average-pooled after ReLU(z - bias) and ReLU(-z - bias).
    Defaults: k=256 (512 features), size=32.
    """
    from geobench.data import get_declared
    from geobench.tasks.sampling import sample_sphere

    from .imagery import BMNG_NAME, bmng_path, crops, load_bmng
    from .rcf import RCFeaturizer

    if k < 1 or n_fit < 1 or size < patch:
        raise InputError(f"mosaiks needs k >= 1, n_fit >= 1 and size >= patch; got k={k}, n_fit={n_fit}, "
                         f"size={size}, patch={patch}")
    path = bmng_path()
    sha = get_declared(BMNG_NAME).sha256  # fetch() verified the file against it
    img = load_bmng(path)
    fit_imgs = crops(sample_sphere(n_fit, seed), size, image=img)
    rcf = RCFeaturizer(k=k, patch=patch, seed=seed, bias=bias).fit(fit_imgs)
    meta = {"imagery": "imagery/bmng.jpg", "imagery_sha256": sha, "weights_sha256": sha,
            "k": k, "size": size, "patch": patch, "bias": bias, "n_fit": n_fit, "seed": seed,
            "km_per_px_equator": 7.41}
    return MosaiksEncoder(featurizer=rcf, size=size, meta=meta, dim=rcf.dim)


__all__ = ["MosaiksEncoder", "mosaiks"]
