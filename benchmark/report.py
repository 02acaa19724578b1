"""The reproduction report: the full grid, embedding maps, the Africa hold-out figure and
``docs/results.md``. Every number in the report is computed here from ``runs.jsonl``."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

GLOBAL_TASKS = ("air_temperature", "elevation", "population", "countries", "biome", "ecoregions")
FEWSHOT_TASKS = ("countries", "ecoregions")  # the paper's few-shot (1 %) hold-out tasks
MAP_ENCODERS = ("satclip", "satclip:L=40", "sh_siren_random", "geoclip", "csp", "mosaiks", "sh:L=10")
# panels of the Africa ecoregions figure (then the best of the rest)
AFRICA_ENCODERS = ("satclip", "satclip:L=40", "sh_siren_random", "geoclip", "csp", "mosaiks")
AFRICA_FEWSHOT = "continent:Africa:fewshot=0.01"
# The two US-only tasks span a few 10-degree blocks at most; use blocks that fit their extent.
REGIONAL_BLOCK_DEG = {"median_income": 2, "california_housing": 1}
SPLIT_KINDS = ("random", "spatial_block", "continent")


def holdout_split(task: str) -> str | None:
    """The paper's Africa hold-out for a task: few-shot for countries/ecoregions, zero-shot otherwise.
    US-only tasks (median income, California housing) have no Africa hold-out."""
    if task not in GLOBAL_TASKS:
        return None
    return AFRICA_FEWSHOT if task in FEWSHOT_TASKS else "continent:Africa"


def _require_external_data(task: str) -> None:
    """A clear error for a registered task whose external data folder is not configured."""
    import os

    from .errors import DataError
    from .tasks_api import TASKS

    if task in TASKS.names():
        var = TASKS.get(task).spec.needs_external
        if var and not os.environ.get(var):
            raise DataError(f"task {task!r} needs external data: set {var} to its data folder "
                            f"(see `geobench list` and the task's docstring), or leave it out of --task")


def reproduce_tasks() -> list[str]:
    """The offline tasks, plus each external-data task whose data folder is configured
    (iNaturalist 2018 when ``$GEOBENCH_INAT_DIR`` is set)."""
    import os

    from .runner import offline_tasks
    from .tasks_api import TASKS

    ext = [n for n, e in TASKS.items() if e.spec.needs_external and os.environ.get(e.spec.needs_external)]
    return offline_tasks() + ext


def grid_plan(tasks: list[str]) -> list[tuple[str, list[str]]]:
    """(task, splits) pairs of the reproduction grid (external-data tasks: random split only)."""
    from .tasks_api import get_spec

    out = []
    for t in tasks:
        if get_spec(t).needs_external:
            out.append((t, ["random"]))
            continue
        splits = ["random", f"spatial_block:deg={REGIONAL_BLOCK_DEG.get(t, 10)}"]
        h = holdout_split(t)
        if h:
            splits.append(h)
        out.append((t, splits))
    return out


def _check_names(kind: str, names: list[str], valid) -> list[str]:
    from .errors import UnknownNameError
    from .registry import unknown_name_message

    for n in names:
        if n not in valid:
            raise UnknownNameError(unknown_name_message(kind, n, valid))
    return names


def reproduce(args) -> int:
    """`geobench reproduce`: run (resumably) the grid, then regenerate every report artefact."""
    from .errors import GeobenchError
    from .leaderboard import write_leaderboard
    from .provenance import command_line
    from .runner import _expand, run_grid

    t0 = time.perf_counter()
    results = Path(args.results)
    n_run = 0
    failed = []
    tasks = _expand(getattr(args, "task", ["all"]), reproduce_tasks)
    for t in tasks:
        _require_external_data(t)
    tasks = _check_names("reproducible task", tasks, reproduce_tasks())
    kinds = _check_names("reproduce split kind", _expand(getattr(args, "split", ["all"]), lambda: list(SPLIT_KINDS)),
                         SPLIT_KINDS)
    for task, splits in ([] if getattr(args, "report_only", False) else grid_plan(tasks)):
        splits = [s for s in splits if s.split(":")[0] in kinds]
        if not splits:
            continue
        try:
            res = run_grid([task], args.encoder, args.head, splits, args.seeds, results_dir=results,
                           executor=args.executor, n_jobs=args.jobs, tracking_uri=args.tracking_uri,
                           command=command_line())
        except GeobenchError as e:  # report, and go on with the other tasks
            print(f"{task}: FAILED: {e}", flush=True)
            failed.append(task)
            continue
        n_run += len(res.records)
        print(f"{task}: {len(res.records)} cell(s) run, {res.skipped} already done, {res.wall_seconds:.0f}s",
              flush=True)
    if not getattr(args, "no_report", False):
        write_leaderboard(results)
        write_figures(results, encoders=MAP_ENCODERS)
        write_results_md(results, results.resolve().parent / "docs" / "results.md")
    print(f"reproduce: {n_run} cell(s) run; total wall time {time.perf_counter() - t0:.0f}s"
          + (f"; FAILED tasks: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def write_figures(results: Path, *, encoders: tuple[str, ...] = MAP_ENCODERS) -> list[Path]:
    """Continent plots (per task with per-continent metrics, head, and the random and hold-out
    splits), embedding maps and the Africa ecoregions figure (per head with few-shot ecoregion
    runs). A figure that fails (e.g. over the size budget) is reported and skipped."""
    from .errors import GeobenchError
    from .plots import plot_continents_from_runs
    from .records import read_records

    records = read_records(results / "runs.jsonl")
    jobs = []
    for task, head in sorted({(r["task"], r["head"]) for r in records
                              if r.get("status") == "ok" and r.get("per_continent")}):
        for split in ("random", holdout_split(task)):
            if split:
                jobs.append(lambda t=task, h=head, s=split: [plot_continents_from_runs(results, t, records,
                                                                                        split=s, head=h)])
    jobs.append(lambda: plot_embedding_maps(results / "maps", encoders))
    for head in sorted({r["head"] for r in records}):
        jobs.append(lambda h=head: [plot_africa_ecoregions(results, records, head=h)])
    out = []
    for job in jobs:
        try:
            out += [p for p in job() if p]
        except GeobenchError as e:
            print(f"figure skipped: {e}", flush=True)
    return out


def plot_cli(args, records: list[dict]) -> int:
    results = Path(args.results)
    if args.kind == "maps":
        for p in plot_embedding_maps(results / "maps", tuple(args.encoder or MAP_ENCODERS)):
            print(f"wrote {p}")
    else:
        p = plot_africa_ecoregions(results, records, head=args.head)
        print(f"wrote {p}" if p else "no ecoregions Africa few-shot results; run the grid first")
    return 0


# --- embedding maps -------------------------------------------------------------------------

def embedding_grid(encoder: str, res_deg: float = 1.0):
    """Embeddings of ``encoder`` on a regular lon/lat grid of cell centres, as an xarray Dataset
    with variable ``embedding`` (lat, lon, feature)."""
    import xarray as xr

    from .encoding import get_encoder

    lon = np.arange(-180 + res_deg / 2, 180, res_deg)
    lat = np.arange(90 - res_deg / 2, -90, -res_deg)
    LON, LAT = np.meshgrid(lon, lat)
    enc = get_encoder(encoder)
    emb = np.asarray(enc.encode(np.column_stack([LON.ravel(), LAT.ravel()])), dtype=np.float32)
    return xr.Dataset({"embedding": (("lat", "lon", "feature"), emb.reshape(lat.size, lon.size, -1))},
                      coords={"lat": lat, "lon": lon, "feature": np.arange(emb.shape[1])},
                      attrs={"encoder": encoder, "res_deg": res_deg})


def pca_rgb(ds) -> np.ndarray:
    """First three principal components of the embedding, scaled to [0, 1] (1st-99th percentile)."""
    from sklearn.decomposition import PCA

    e = ds["embedding"].values
    flat = e.reshape(-1, e.shape[-1]).astype(np.float64)
    k = min(3, flat.shape[1])
    comp = PCA(n_components=k, random_state=0).fit_transform(flat)
    if k < 3:
        comp = np.concatenate([comp, np.zeros((comp.shape[0], 3 - k))], 1)
    lo, hi = np.percentile(comp, 1, axis=0), np.percentile(comp, 99, axis=0)
    rgb = np.clip((comp - lo) / np.where(hi > lo, hi - lo, 1), 0, 1)
    return rgb.reshape(e.shape[0], e.shape[1], 3)


def _coastlines(ax) -> None:
    try:
        import shapely

        from geobench.tasks.geometry import land_geometry

        land = land_geometry().simplify(0.2)
        for poly in getattr(land, "geoms", [land]):
            x, y = poly.exterior.xy
            ax.plot(x, y, color="black", lw=0.3)
    except Exception:  # coastlines are decoration; the map is still meaningful without them
        pass


def plot_embedding_maps(out_dir: Path, encoders: tuple[str, ...], res_deg: float = 1.0) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plots import save_png

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for enc in encoders:
        try:
            ds = embedding_grid(enc, res_deg)
        except Exception as e:  # an encoder whose weights are unavailable is skipped, loudly
            print(f"maps: skipping {enc}: {e}")
            continue
        rgb = pca_rgb(ds)
        fig, ax = plt.subplots(figsize=(8, 4.3))
        ax.imshow(rgb, extent=(-180, 180, -90, 90), interpolation="nearest")
        _coastlines(ax)
        ax.set_xlim(-180, 180)
        ax.set_ylim(-90, 90)
        ax.set_title(f"{enc}: first 3 principal components of the embedding as RGB ({res_deg:g}° grid)", fontsize=9)
        ax.set_xlabel("longitude")
        ax.set_ylabel("latitude")
        fig.tight_layout()
        p = out_dir / f"embedding_{enc.replace(':', '_').replace('=', '')}.png"
        paths.append(save_png(fig, p, dpi=100))
    return paths


# --- Africa few-shot ecoregions --------------------------------------------------------------

def plot_africa_ecoregions(results: Path, records: list[dict], *, head: str = "linear", seed: int = 0,
                           encoders: tuple[str, ...] | None = None) -> Path | None:
    """True ecoregions over Africa next to each encoder's predictions (few-shot hold-out), with the
    sparse Africa training points marked. Drawn from the stored per-point predictions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plots import save_png
    from .records import latest_by_key
    from .splits import apply_split, parse_split
    from .tasks_api import load_task

    split = str(parse_split(AFRICA_FEWSHOT))
    recs, _ = latest_by_key(records)
    rs = [r for r in recs if r["task"] == "ecoregions" and r["split"] == split and r["head"] == head
          and r["seed"] == seed and r.get("status") == "ok" and r.get("predictions")
          and (encoders is None or r["encoder"] in encoders)]
    if not rs:
        return None
    # the learned encoders (the paper's comparison), then the best of the rest, 7 panels at most
    by_enc = {r["encoder"]: r for r in rs}
    chosen = [by_enc[e] for e in (*AFRICA_ENCODERS, *(encoders or ())) if e in by_enc]
    chosen = list({r["encoder"]: r for r in chosen}.values())[:6]
    rest = sorted((r for r in rs if r not in chosen), key=lambda r: -r["metrics"]["accuracy"])
    rs = chosen + rest[: 7 - len(chosen)]
    opts = rs[0].get("task_options") or {}
    pts = load_task("ecoregions", **opts)
    tr, _, _ = apply_split(pts.df, parse_split(split), seed)
    af_train = tr[pts.df["continent"].to_numpy()[tr] == "Africa"]
    colors = np.random.default_rng(0).uniform(0.15, 0.95, size=(len(pts.classes), 3))
    panels = [("true labels", None)] + [(r["encoder"], r) for r in rs]
    ncol = min(4, len(panels))
    nrow = -(-len(panels) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.1 * ncol, 3.3 * nrow + 0.4), squeeze=False)
    for ax in axes.ravel()[len(panels):]:
        ax.set_axis_off()
    first = pd.read_parquet(results / rs[0]["predictions"])
    for ax, (title, r) in zip(axes.ravel(), panels):
        df = first if r is None else pd.read_parquet(results / r["predictions"])
        col = df["y"] if r is None else df["pred"]
        ax.scatter(df["lon"], df["lat"], c=colors[col.to_numpy()], s=1.2, linewidths=0)
        ax.scatter(pts.df["lon"].to_numpy()[af_train], pts.df["lat"].to_numpy()[af_train], marker="x",
                   c="black", s=7, lw=0.6, label=f"training points in Africa (n={af_train.size})")
        acc = f"true labels (test n={len(df):,})" if r is None else f"{title}: accuracy {r['metrics']['accuracy']:.3f}"
        ax.set_title(acc, fontsize=9)
        ax.set_xlim(-20, 55)
        ax.set_ylim(-37, 40)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][0].legend(loc="lower left", fontsize=7)
    fig.suptitle(f"Ecoregions over Africa, few-shot (1%) hold-out: {head} head, seed {seed} "
                 "(colours = ecoregion; x = the few Africa training points)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    out = results / "maps" / f"africa_ecoregions_{head}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    return save_png(fig, out, dpi=72)


# --- docs/results.md ------------------------------------------------------------------------

def _random_split() -> str:
    from .splits import parse_split

    return str(parse_split("random"))


RANDOM_SPLIT = _random_split()  # "random:train=0.6:val=0.2", as the runner records it


def published_split(split: str) -> tuple[str, str]:
    """Our canonical split for a published row's split, and a note when the mapping is assumed.

    ``unspecified`` (the RANGE linear-probe table) is compared with our random split."""
    if split == "unspecified":
        return RANDOM_SPLIT, "split not stated; compared with our random split"
    if split == "random":
        return RANDOM_SPLIT, ""
    from .splits import parse_split

    return str(parse_split(split)), ""


def comparison_table(records: list[dict]) -> pd.DataFrame:
    """Ours vs published: one row per published number. ``ours`` is the mean over seeds of the
    published row's metric in our records with the same task, encoder, head and split (NaN when we
    have no such run, or when the encoder is not implemented here, e.g. RANGE)."""
    from geobench.reporting.published import EXTERNAL_ENCODERS, load_published
    from .records import latest_by_key
    from .tasks_api import get_spec

    latest, _ = latest_by_key(records)  # the newest row per key, as in the leaderboard; then ok only
    by_cell: dict[tuple, list[dict]] = {}
    for r in (r for r in latest if r.get("status") == "ok"):
        by_cell.setdefault((r["task"], r["encoder"], r["head"], r["split"]), []).append(r)
    rows = []
    for p in load_published():
        split, assumed = published_split(p.split)
        rs = by_cell.get((p.task, p.encoder, p.head, split), [])
        vals = [r["metrics"][p.metric] for r in rs if p.metric in r["metrics"]]
        ours = float(np.mean(vals)) if vals else np.nan
        rows.append({"task": p.task, "encoder": p.encoder, "variant": p.variant, "head": p.head,
                     "split": p.split, "our_split": split, "split_note": assumed, "metric": p.metric,
                     "published": p.value, "ours": ours, "ours_std": float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0,
                     "n_seeds": len(vals), "diff": ours - p.value, "source": p.source, "evidence": p.evidence,
                     "external": p.encoder in EXTERNAL_ENCODERS, "fidelity": get_spec(p.task).fidelity})
    return pd.DataFrame(rows)


# Where the weights of our encoder come from, for the comparison table.
OUR_WEIGHTS = {"satclip": "trained here (Blue Marble)", "csp": "trained here (Blue Marble)",
               "geoclip": "released (exact)", "mosaiks": "random features (Blue Marble)"}


def comparison_markdown(comp: pd.DataFrame) -> list[str]:
    """Markdown for the comparison: our counterparts first, then the reference-only rows of
    encoders we do not implement; sources as numbered footnotes."""
    sources = list(dict.fromkeys(comp.source))
    ref = {s: f"[{i + 1}]" for i, s in enumerate(sources)}
    fmt = lambda v: "–" if np.isnan(v) else f"{v:+.3f}"  # noqa: E731
    lines = ["| task | encoder (published variant) | our weights | head | split | metric | published "
             "| ours (n seeds) | ours − published | data | source |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in comp[~comp.external].iterrows():
        spread = f"{r.ours_std:.3f}" if r.n_seeds > 1 else "–"
        ours = "not run" if np.isnan(r.ours) else f"{r.ours:.3f} ± {spread} ({r.n_seeds})"
        split = r.split + ("*" if r.split_note else "")
        weights = OUR_WEIGHTS.get(r.encoder.split(":")[0], "")
        lines.append(f"| {r.task} | {r.encoder} ({r.variant}) | {weights} | {r['head']} | {split} | {r.metric} | "
                     f"{r.published:.3f} | {ours} | {fmt(r['diff'])} | {r.fidelity} | {ref[r.source]} |")
    lines.append("")
    if comp.split_note.astype(bool).any():
        lines.append(f"\\* split not stated by the source; compared with our random split (`{RANDOM_SPLIT}`).")
    lines += ["For `mse_z` lower is better; for `r2` and `accuracy` higher is better. The published SatCLIP "
              "rows are the released checkpoints (Sentinel-2); ours is trained here on Blue Marble, so those "
              "rows compare two different models under one name.", ""]
    ext = comp[comp.external]
    if not ext.empty:
        lines += ["Published numbers of encoders geobench does not implement (reference only):", "",
                  "| task | metric | " + " | ".join(ext.encoder.unique()) + " | source |",
                  "|---|---|" + "---|" * ext.encoder.nunique() + "---|"]
        for (task, metric), g in ext.groupby(["task", "metric"], sort=False):
            vals = g.set_index("encoder")["published"]
            lines.append(f"| {task} | {metric} | " + " | ".join(f"{vals.get(e, np.nan):.3f}" for e in ext.encoder.unique())
                         + f" | {', '.join(dict.fromkeys(ref[s] for s in g.source))} |")
        lines.append("")
    lines += ["Sources (all secondary; `benchmark/reporting/published.csv` gives the evidence level of every row):", ""]
    lines += [f"{ref[s]} {s}  " for s in sources]
    return lines + [""]


def coverage_lines(records: list[dict]) -> list[str]:
    """What was run, per head: tasks, encoders, split kinds, seeds and cells (latest rows only)."""
    from .records import latest_by_key

    latest, _ = latest_by_key(records)
    df = pd.DataFrame([{"head": r["head"], "task": r["task"], "encoder": r["encoder"], "seed": r["seed"],
                        "kind": r["split"].split(":")[0], "status": r.get("status")} for r in latest])
    if df.empty:
        return []
    lines = ["## Coverage", "", "| head | cells ok | not applicable | tasks | encoders | split kinds | seeds per cell |",
             "|---|---|---|---|---|---|---|"]
    for head, g in df.groupby("head"):
        n_seeds = g[g.status == "ok"].groupby(["task", "encoder", "kind"]).seed.nunique()
        if n_seeds.empty:
            seeds = "–"
        else:
            seeds = f"{n_seeds.min()}–{n_seeds.max()}" if n_seeds.min() != n_seeds.max() else f"{n_seeds.min()}"
        n_all = len(reproduce_tasks())
        tasks = ", ".join(sorted(g.task.unique())) if g.task.nunique() < n_all else f"all {n_all}"
        encs = ", ".join(f"`{e}`" for e in sorted(g.encoder.unique())) if g.encoder.nunique() < 10 \
            else f"{g.encoder.nunique()}"
        lines.append(f"| {head} | {int((g.status == 'ok').sum())} | {int((g.status == 'not_applicable').sum())} | "
                     f"{tasks} | {encs} | {', '.join(sorted(g.kind.unique()))} | {seeds} |")
    return lines + [""]


def figure_lines(results: Path) -> list[str]:
    """Markdown for the committed figures, grouped: per-continent heat maps (by task), the
    embedding maps, the Africa ecoregions figures."""
    def imgs(folder: str, pattern: str) -> list[Path]:
        d = results / folder
        return sorted(d.glob(pattern)) if d.exists() else []

    lines = ["### Per-continent scores", "",
             "Rows are encoders (best global score first), columns continents with the median test n; "
             "the first column is the global score. One figure per task, head and split.", ""]
    for p in imgs("continents", "*.png"):
        task, head, split = (p.stem.split("__") + ["", ""])[:3]
        what = ("random split" if split.startswith("random") else "Africa zero-shot hold-out"
                if "fewshot0.0_" in split else "Africa few-shot (1 %) hold-out" if "fewshot" in split else split)
        lines += [f"**{task}**, {head} head, {what}", "", f"![{p.stem}](../results/continents/{p.name})", ""]
    lines += ["### Embedding maps", "",
              "Each learned encoder evaluated on a 1° lon/lat grid; the first three principal components "
              "of the embedding as RGB, coastlines from the countries data.", ""]
    lines += [f"![{p.stem}](../results/maps/{p.name})" for p in imgs("maps", "embedding_*.png")] + [""]
    lines += ["### Africa ecoregions, few-shot hold-out", ""]
    lines += [f"![{p.stem}](../results/maps/{p.name})" for p in imgs("maps", "africa_ecoregions_*.png")] + [""]
    return lines


def narrative_sections() -> dict[str, str]:
    """The hand-written prose of ``results_narrative.md`` (no numbers), by ``## `` heading."""
    path = Path(__file__).with_name("results_narrative.md")
    out: dict[str, str] = {}
    if path.exists():
        for block in ("\n" + path.read_text()).split("\n## ")[1:]:
            title, _, body = block.partition("\n")
            out[title.strip()] = f"## {title.strip()}\n{body.rstrip()}\n"
    return out


def write_results_md(results: Path, out: Path) -> Path:
    """docs/results.md: caveats, computed findings, coverage, ours vs published (and why they
    differ), figures, the leaderboard. Numbers come only from ``runs.jsonl``."""
    from .leaderboard import markdown, summarize
    from .records import read_records

    records = read_records(results / "runs.jsonl")
    table, dropped = summarize(records)
    n_ok = sum(r.get("status") == "ok" for r in records)
    prose = narrative_sections()
    lines = ["# geobench results", "",
             "Generated by `geobench reproduce` from `results/runs.jsonl`; nothing here is typed by hand.",
             f"{len(records)} records ({n_ok} ok), {table.task.nunique()} tasks, {table.encoder.nunique()} encoders.",
             ""]
    lines += [prose.pop("How to read these results", "")]
    lines += ["## Findings computed from the runs", ""] + findings(table) + [""]
    lines += [prose.pop("Reading the hold-out numbers", "")]
    lines += coverage_lines(records)
    comp = comparison_table(records)
    if not comp.empty:
        lines += ["## Ours vs published", ""] + comparison_markdown(comp)
    lines += [prose.pop("Why our numbers differ from the published ones", "")]
    lines += list(prose.values())  # any further prose sections, in file order
    lines += ["## Figures", ""] + figure_lines(results)
    lines += ["", "## Leaderboard", "", markdown(table)]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    return out


def in_plan(task: str, split: str) -> bool:
    """Whether (task, split) is one of the reproduction grid's cells (older exploratory runs,
    e.g. 10-degree blocks on California housing, stay in the leaderboard but not in findings)."""
    from .errors import GeobenchError
    from .splits import parse_split

    try:
        plan = grid_plan([task])
    except GeobenchError:  # a plugin task, or one removed since it ran: not in the grid
        return False
    return any(str(parse_split(s)) == split for _, splits in plan for s in splits)


def _pivot(ok: pd.DataFrame, head: str, split_kind: str) -> pd.DataFrame:
    """encoder x task means for one head and split kind (the grid has one split per kind and task)."""
    g = ok[(ok["head"] == head) & (ok.split.str.split(":").str[0] == split_kind)]
    return g.pivot_table(index="encoder", columns="task", values="mean")


def _compare(ok: pd.DataFrame, a: str, b: str, head: str, split_kind: str, what: str) -> str | None:
    p = _pivot(ok, head, split_kind)
    if a not in p.index or b not in p.index:
        return None
    both = p.loc[[a, b]].dropna(axis=1)
    if both.empty:
        return None
    wins = int((both.loc[a] > both.loc[b]).sum())
    detail = ", ".join(f"{t} {both.loc[a, t]:.3f} vs {both.loc[b, t]:.3f}" for t in both.columns)
    return f"- {what}: `{a}` beats `{b}` on {wins} of {both.shape[1]} tasks ({head}, {split_kind}: {detail})."


# Encoders whose embedding carries information from imagery (trained on it, or featurising it).
IMAGE_INFORMED = ("satclip", "csp", "geoclip", "mosaiks")


def findings(table: pd.DataFrame) -> list[str]:
    """Short statements computed from the leaderboard table."""
    ok = table[(table.status == "ok") & np.array([in_plan(t, s) for t, s in zip(table.task, table.split)], bool)]
    ok = ok.dropna(subset=["mean"])
    img = lambda e: e.split(":")[0] in IMAGE_INFORMED  # noqa: E731
    out = []
    # 1. who generalises to Africa: mean rank over the hold-out tasks, linear head
    hold = _pivot(ok, "linear", "continent").dropna(axis=0)
    if not hold.empty:
        rank = hold.rank(ascending=False).mean(axis=1).sort_values()
        top = ", ".join(f"`{e}` ({r:.1f})" for e, r in rank.head(3).items())
        out.append(f"- **Africa hold-out** (linear, {hold.shape[1]} tasks: {', '.join(hold.columns)}): the best "
                   f"mean ranks among {hold.shape[0]} encoders are {top}; the worst is `{rank.index[-1]}` "
                   f"({rank.iloc[-1]:.1f}).")
        for t in hold.columns:
            learned = hold[t][[e for e in hold.index if img(e)]]
            free = hold[t][[e for e in hold.index if not img(e)]]
            if not learned.empty and not free.empty:
                out.append(f"  - {t}: best image-informed `{learned.idxmax()}` {learned.max():.3f}, best "
                           f"coordinate-only `{free.idxmax()}` {free.max():.3f}.")
    # 2. the price of spatial extrapolation: random minus spatial-block, averaged over tasks
    rnd, blk = _pivot(ok, "linear", "random"), _pivot(ok, "linear", "spatial_block")
    common = rnd.index.intersection(blk.index)
    if len(common):
        tasks = rnd.columns.intersection(blk.columns)
        drop = (rnd.loc[common, tasks] - blk.loc[common, tasks]).dropna(axis=0).mean(axis=1).dropna().sort_values()
        if len(tasks) and not drop.empty:
            out.append(f"- **Random vs spatial-block** (linear, mean over {len(tasks)} tasks of random minus "
                       f"block score): smallest drop `{drop.index[0]}` {drop.iloc[0]:.3f}, largest `{drop.index[-1]}` "
                       f"{drop.iloc[-1]:.3f}; median {drop.median():.3f}.")
    # 3. L=10 vs L=40 (the paper: L=10 generalises better to unseen regions, L=40 fits finer detail)
    for a, b in (("satclip", "satclip:L=40"), ("sh", "sh:L=40")):
        for kind in ("random", "continent"):
            line = _compare(ok, a, b, "linear", kind, "L=10 vs L=40")
            if line:
                out.append(line)
    # 4. does our pretraining help? the trained SatCLIP against its untrained twin
    for kind in ("random", "spatial_block", "continent"):
        line = _compare(ok, "satclip", "sh_siren_random", "linear", kind, "pretrained vs untrained SatCLIP")
        if line:
            out.append(line)
    # 5. heads: MLP / LightGBM against the linear probe on the same cells
    for head in ("mlp", "lightgbm"):
        a = ok[ok["head"] == head].set_index(["task", "encoder", "split"])["mean"]
        b = ok[ok["head"] == "linear"].set_index(["task", "encoder", "split"])["mean"]
        both = a.index.intersection(b.index)
        if len(both):
            d = (a[both] - b[both]).dropna()
        if len(both) and not d.empty:
            out.append(f"- **{head} vs linear head** on the {len(both)} cells run with both: {head} is better on "
                       f"{int((d > 0).sum())}; median difference {d.median():+.3f}, largest gain "
                       f"{d.max():+.3f} ({'/'.join(map(str, d.idxmax()))}).")
    best = []
    for (head, split), g in ok.groupby(["head", "split"]):
        wins = g.loc[g.groupby("task")["mean"].idxmax()]
        best.append(f"- `{head}` head, `{split}`: "
                    + ", ".join(f"{r.task}: **{r.encoder}** ({r['mean']:.3f})" for _, r in wins.iterrows()))
    return (["### What we learned", ""] + out + [""] if out else []) + \
        (["### Best encoder per task", ""] + best if best else [])
