"""iNaturalist 2018 species classification from location (+ image features), external data.

The data cannot be fetched here; set ``GEOBENCH_INAT_DIR`` to a folder laid out as the
official iNat 2018 release (github.com/visipedia/inat_comp, 2018) plus the pre-extracted
image features of the geo-prior release (Mac Aodha, Cole & Perona 2019,
github.com/macaodha/geo_prior, ``data/inat_2018/``)::

    $GEOBENCH_INAT_DIR/
      train2018.json                 COCO style: images [{id, file_name, ...}],
      val2018.json                     annotations [{id, image_id, category_id}],
                                       categories [{id, name, supercategory, ...}]
      train2018_locations.json       [{id, lat, lon, loc_uncert, date, date_c, user_id}]
      val2018_locations.json           (id = image id; lat/lon may be null). These may also sit
                                       in inat2018_locations/, as inat2018_locations.zip unpacks.
      categories2018.json            optional: un-obfuscated [{id, name, ...}] (geo-prior name;
                                       ``categories.json`` from the official release also works)
      features_inception/
        inat2018_train_net_feats.npy float (n_images, D) InceptionV3 features, row i = the
        inat2018_val_net_feats.npy     i-th entry of ``images`` in the split's json

The official validation set (24,426 images) is the test set (``split == "val"``). The
geo-prior release ships no separate label files: labels come from the json annotations.

Rows: one per image with a location. Images whose location is missing (null lat/lon, or no
entry in the locations file) or out of range are dropped and counted in ``meta``. Columns:
``lon``, ``lat`` (degrees), ``y`` (class code 0..K-1: categories sorted by id), ``class_name``,
``split`` ("train"/"val"), ``image_id`` and ``image_feature_row`` (row in that split's
feature matrix, see :func:`load_image_features` / :func:`features_for_points`).

Fidelity: external (the paper's data, used only where the user provides it).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from geobench.errors import DataError, InputError

from .base import TaskSpec, register_task
from .differences import Difference
from .climate import SATCLIP_CITATION

ENV_VAR = "GEOBENCH_INAT_DIR"
SPLITS = ("train", "val")
FEATURE_FOLDER = "features_inception"
LOCATION_SUBDIR = "inat2018_locations"
CATEGORY_FILES = ("categories2018.json", "categories.json")


def inat_root(root: str | os.PathLike | None = None) -> Path:
    """The iNat 2018 folder: ``root`` or ``$GEOBENCH_INAT_DIR``; DataError if unset or missing."""
    if root is None:
        root = os.environ.get(ENV_VAR)
        if not root:
            raise DataError(
                f"iNaturalist 2018 needs external data: set {ENV_VAR} to the folder holding train2018.json, "
                "val2018.json, train2018_locations.json and val2018_locations.json "
                "(see geobench.tasks.inaturalist for the layout)."
            )
    p = Path(root).expanduser()
    if not p.is_dir():
        raise DataError(f"{ENV_VAR}={p} is not a folder; point it at the iNat 2018 data folder.")
    return p


def _require(path: Path, what: str) -> Path:
    if not path.is_file():
        raise DataError(f"iNaturalist 2018: {what} not found at {path}; see geobench.tasks.inaturalist "
                        f"for the expected layout under {ENV_VAR}.")
    return path


def _read_json(path: Path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise DataError(f"iNaturalist 2018: cannot read {path}: {e}. Re-extract the file.") from e


def locations_path(root: Path, split: str) -> Path:
    name = f"{split}2018_locations.json"
    for p in (root / name, root / LOCATION_SUBDIR / name):
        if p.is_file():
            return p
    return _require(root / name, f"{name} (also looked in {LOCATION_SUBDIR}/)")


def _categories(root: Path, train: dict) -> tuple[np.ndarray, list[str]]:
    """Sorted category ids and their names (un-obfuscated if a categories file is present)."""
    cats = train.get("categories")
    if not cats:
        raise DataError(f"iNaturalist 2018: train2018.json under {root} has no 'categories' list.")
    names = {int(c["id"]): str(c["name"]) for c in cats}
    for fname in CATEGORY_FILES:
        if (root / fname).is_file():
            extra = _read_json(root / fname)
            names.update({int(c["id"]): str(c["name"]) for c in extra if int(c["id"]) in names})
            break
    ids = np.array(sorted(names), dtype=np.int64)
    return ids, [names[i] for i in ids]


def _split_table(root: Path, split: str, ann: dict, cat_code: dict[int, int]) -> tuple[pd.DataFrame, dict]:
    images = ann.get("images")
    annotations = ann.get("annotations")
    if images is None or annotations is None:
        raise DataError(f"iNaturalist 2018: {split}2018.json under {root} lacks 'images' or 'annotations'.")
    image_ids = np.array([int(im["id"]) for im in images], dtype=np.int64)
    label = {int(a["image_id"]): int(a["category_id"]) for a in annotations}
    locs = {}
    for rec in _read_json(locations_path(root, split)):
        lon, lat = rec.get("lon"), rec.get("lat")
        locs[int(rec["id"])] = (np.nan if lon is None else float(lon), np.nan if lat is None else float(lat))

    n = len(image_ids)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    y = np.full(n, -1, dtype=np.int64)
    has_loc_entry = np.zeros(n, dtype=bool)
    for i, iid in enumerate(image_ids):
        if iid in locs:
            has_loc_entry[i] = True
            lon[i], lat[i] = locs[iid]
        cid = label.get(int(iid))
        if cid is not None:
            if cid not in cat_code:
                raise DataError(f"iNaturalist 2018: {split} image {iid} has category {cid}, which is not in "
                                "train2018.json's categories.")
            y[i] = cat_code[cid]
    finite = np.isfinite(lon) & np.isfinite(lat)
    in_range = finite & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    has_label = y >= 0
    keep = in_range & has_label
    df = pd.DataFrame({
        "lon": lon[keep], "lat": lat[keep], "y": y[keep],
        "split": split, "image_id": image_ids[keep],
        "image_feature_row": np.flatnonzero(keep).astype(np.int64),
    })
    counts = {
        f"n_images_{split}": int(n),
        f"n_kept_{split}": int(keep.sum()),
        f"n_missing_location_{split}": int((has_loc_entry & ~finite).sum()),
        f"n_no_location_entry_{split}": int((~has_loc_entry).sum()),
        f"n_invalid_location_{split}": int((finite & ~in_range).sum()),
        f"n_unlabelled_{split}": int((in_range & ~has_label).sum()),
    }
    return df, counts


@register_task(TaskSpec(
    name="inaturalist_2018",
    kind="classification",
    target="species (category_id)",
    unit="class",
    description="iNaturalist 2018 species classification (8,142 species) from image features plus location.",
    citation=SATCLIP_CITATION + " Van Horn, G., et al. (2018). The iNaturalist Species Classification and "
    "Detection Dataset. CVPR. Mac Aodha, O., Cole, E., Perona, P. (2019). Presence-Only Geographical "
    "Priors for Fine-Grained Image Classification. ICCV.",
    fidelity="external",
    files=(),
    defaults={},
    proxy_note="Not shipped: needs the official iNat 2018 annotations and locations plus the geo-prior "
    f"image features in ${ENV_VAR}.",
    needs_external=ENV_VAR,
    protocol="geobench.tasks.inaturalist_protocol:evaluate",
    differences=(
        Difference("data", "iNaturalist 2018 (official split) with the geo-prior image features",
                   f"not shipped: the same files, evaluated only when ${ENV_VAR} points at the user's copy"),
    ),
))
def build_inaturalist_2018() -> pd.DataFrame:
    """One row per located image of the official train and val sets (val = test)."""
    root = inat_root()
    anns = {s: _read_json(_require(root / f"{s}2018.json", f"{s}2018.json")) for s in SPLITS}
    cat_ids, cat_names = _categories(root, anns["train"])
    cat_code = {int(c): i for i, c in enumerate(cat_ids)}
    parts, meta = [], {}
    for s in SPLITS:
        df_s, counts = _split_table(root, s, anns[s], cat_code)
        parts.append(df_s)
        meta.update(counts)
    df = pd.concat(parts, ignore_index=True)
    names = np.asarray(cat_names, dtype=object)
    df.insert(3, "class_name", names[df["y"].to_numpy()])
    meta["classes"] = list(cat_names)
    meta["category_ids"] = [int(c) for c in cat_ids]
    meta["n_dropped"] = int(sum(meta[f"n_images_{s}"] - meta[f"n_kept_{s}"] for s in SPLITS))
    df.attrs["meta"] = meta
    return df


def load_image_features(root: str | os.PathLike | None = None, split: str = "train", *,
                        folder: str = FEATURE_FOLDER, mmap: bool = False) -> np.ndarray:
    """The (n_images, D) image-feature matrix of ``split`` ("train" or "val").

    Row i belongs to the i-th image of ``{split}2018.json``; index it with the points'
    ``image_feature_row``. ``root`` defaults to ``$GEOBENCH_INAT_DIR``; ``folder`` is
    ``features_inception`` (or ``features_inception_hr`` for the high-resolution release).
    """
    if split not in SPLITS:
        raise InputError(f"split must be one of {SPLITS}, got {split!r}")
    path = _require(inat_root(root) / folder / f"inat2018_{split}_net_feats.npy", f"{split} image features")
    try:
        feats = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise DataError(f"iNaturalist 2018: cannot read {path}: {e}. Re-download the features.") from e
    if feats.ndim != 2:
        raise DataError(f"iNaturalist 2018: {path} has shape {feats.shape}; expected (n_images, D).")
    return feats


def features_for_points(df: pd.DataFrame, root: str | os.PathLike | None = None, *,
                        folder: str = FEATURE_FOLDER) -> np.ndarray:
    """float32 (len(df), D) image features for the rows of an ``inaturalist_2018`` point table."""
    missing = {"split", "image_feature_row"} - set(df.columns)
    if missing:
        raise InputError(f"features_for_points needs columns {sorted(missing)} (an inaturalist_2018 table)")
    out: np.ndarray | None = None
    for s in SPLITS:
        sel = (df["split"] == s).to_numpy()
        if not sel.any():
            continue
        feats = load_image_features(root, s, folder=folder, mmap=True)
        rows = df.loc[sel, "image_feature_row"].to_numpy(np.int64)
        n_images = df.attrs.get("meta", {}).get(f"n_images_{s}")
        if n_images is not None and feats.shape[0] != n_images:
            raise DataError(f"iNaturalist 2018: {s} features have {feats.shape[0]} rows but {s}2018.json has "
                            f"{n_images} images; the features do not match the annotations.")
        if rows.max() >= feats.shape[0]:
            raise DataError(f"iNaturalist 2018: {s} features have {feats.shape[0]} rows but the points refer to "
                            f"row {rows.max()}; the features do not match {s}2018.json.")
        if out is None:
            out = np.empty((len(df), feats.shape[1]), dtype=np.float32)
        elif out.shape[1] != feats.shape[1]:
            raise DataError(f"iNaturalist 2018: train and val features differ in width "
                            f"({out.shape[1]} vs {feats.shape[1]}).")
        out[sel] = feats[rows]
    if out is None:
        raise InputError("features_for_points got an empty table")
    return out
