"""The L = 40 caveat, measured: how far the official SH's errors move a SatCLIP embedding.

The released L = 40 models were trained on the official analytic SH, which is off by up to
0.6 at degree 39 near the poles; geobench computes the exact function. This module builds
official-format L = 40 checkpoints with random weights (official SIREN initialisation,
2 hidden layers, 256-d output; hidden width 512 as in the released checkpoints, and 256),
and feeds each network the same points twice: exact SH and official SH. Point sets: the 64
fixture coordinates (19 edge cases including both poles, 5 cities, 40 random), with the
official values from the fixture ``sh_L40.npy``; and 10,000 area-uniform points, with the
official values from :func:`.official_sh.official_sh` (bit-identical to the fixture).

``python -m geobench.encoders.satclip.sh_gap [--fixtures DIR] [--write docs/released_weights.md]``
prints the table (and rewrites it between the ``sh-gap`` markers of the doc);
``tests/encoders/test_released_weights.py`` checks that the doc holds what this computes.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

L = 40
CAPACITIES = (512, 256)
SEEDS = (0, 1, 2)
N_UNIFORM = 10_000
BEGIN, END = "<!-- sh-gap:begin -->", "<!-- sh-gap:end -->"
DEFAULT_FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "satclip"


def _states(capacity: int, seeds, tmp: Path) -> list[dict]:
    """SIREN weights of official-format L = 40 checkpoints (random official init, one per seed),
    written and read back through the checkpoint code."""
    from .checkpoint import load_checkpoint, official_hparams, save_checkpoint
    from .model import SirenNet

    out = []
    for s in seeds:
        net = SirenNet(L * L, capacity, 256, 2, seed=s)
        p = tmp / f"random_L{L}_h{capacity}_seed{s}.ckpt"
        save_checkpoint(p, net.state_dict(), official_hparams(L, capacity=capacity))
        ck = load_checkpoint(p, L=L)
        out.append({k: v.double() for k, v in ck.state.items()})
    return out


def _gap(exact: np.ndarray, official: np.ndarray, lat: np.ndarray, states: list[dict]) -> dict:
    import torch

    from ..torchutil import torch_threads
    from .model import forward_siren_state

    mx, mean, rms, rel_max, rel_mean, rel_row, share, band = [], [], [], [], [], [], [], []
    with torch.no_grad(), torch_threads(2):
        for st in states:
            e = forward_siren_state(torch.from_numpy(exact), st, 2).numpy()
            o = forward_siren_state(torch.from_numpy(official), st, 2).numpy()
            d = np.abs(o - e)
            mx.append(d.max())
            mean.append(d.mean())
            rms.append(np.sqrt(np.mean(e**2)))
            rel_max.append(d.max() / np.abs(e).max())
            rel_mean.append(d.mean() / np.abs(e).mean())
            row = np.linalg.norm(o - e, axis=1) / np.linalg.norm(e, axis=1)
            rel_row.append(row.max())
            share.append(np.mean(row > 0.01))
            band.append(d[np.abs(lat) <= 60].max())
    return {"sh_max": float(np.abs(official - exact).max()), "max": max(mx), "mean": float(np.mean(mean)),
            "rms": float(np.mean(rms)), "rel_max": max(rel_max), "rel_mean": float(np.mean(rel_mean)),
            "rel_row": max(rel_row), "share_1pct": float(np.mean(share)), "max_lat60": max(band)}


def measure(fixtures: Path = DEFAULT_FIXTURES, *, capacities=CAPACITIES, seeds=SEEDS,
            n_uniform: int = N_UNIFORM) -> list[dict]:
    """One row per (point set, hidden width): differences over ``seeds`` (maxima: worst seed; means: mean)."""
    from geobench.tasks.sampling import sample_sphere

    from .model import sh_features

    fx = np.load(Path(fixtures) / "coords.npy")
    uni = sample_sphere(n_uniform, 0)
    sets = [(f"fixture coords ({len(fx)}, incl. poles)", fx, np.load(Path(fixtures) / "sh_L40.npy")),
            (f"{n_uniform:,} area-uniform points", uni, sh_features(uni, L, sh="official"))]
    rows = []
    with tempfile.TemporaryDirectory(prefix="sh_gap_") as tmp:
        for cap in capacities:
            states = _states(cap, seeds, Path(tmp))
            for name, x, official in sets:
                rows.append({"points": name, "hidden": cap, **_gap(sh_features(x, L), official, x[:, 1], states)})
    return rows


def render(rows: list[dict]) -> str:
    """The markdown table the doc quotes."""
    head = ("| points | SIREN hidden | max \\|ΔSH\\| | max \\|Δe\\| | mean \\|Δe\\| | RMS of e | max \\|Δe\\| / max \\|e\\| "
            "| mean \\|Δe\\| / mean \\|e\\| | worst point ‖Δe‖/‖e‖ | points with ‖Δe‖/‖e‖ > 1 % "
            "| max \\|Δe\\|, \\|lat\\| ≤ 60 |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|")
    g = "{:.3g}".format
    pct = "{:.2%}".format
    lines = [f"| {r['points']} | {r['hidden']} | {g(r['sh_max'])} | {g(r['max'])} | {g(r['mean'])} | {g(r['rms'])} "
             f"| {pct(r['rel_max'])} | {pct(r['rel_mean'])} | {pct(r['rel_row'])} | {pct(r['share_1pct'])} "
             f"| {g(r['max_lat60'])} |"
             for r in rows]
    return "\n".join([head, *lines])


def replace_block(text: str, table: str) -> str:
    """``text`` with the part between the sh-gap markers replaced by ``table``."""
    i, j = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:i] + "\n" + table + "\n" + text[j:]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m geobench.encoders.satclip.sh_gap",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES, help="folder with coords.npy and sh_L40.npy")
    ap.add_argument("--write", type=Path, help="rewrite the table between the sh-gap markers of this file")
    a = ap.parse_args(argv)
    table = render(measure(a.fixtures))
    print(table)
    if a.write:
        from geobench.cache import atomic_write_bytes

        atomic_write_bytes(a.write, replace_block(a.write.read_text(), table).encode())


if __name__ == "__main__":
    main()
