"""Re-selection of the shipped pretraining configurations on the selection set: the tables of
docs/pretraining.md ("Selection set"), generated from the runs' JSON records.

    python scripts/selection_table.py RUNS_DIR [--write docs/pretraining.md]

RUNS_DIR holds one folder per re-run variant (the folder name is the variant name of the tables
in docs/pretraining.md), each with the run's ``<stem>.json`` written by ``geobench pretrain ...
--report-probe-set benchmark-val``: its history has the selection-set probes (``probe_*``, the
criterion) and the old criterion recomputed on the benchmark's validation points
(``report_probe_*``, reported only). The historical numbers (the variant tables of the doc, from
the original runs) are read from the doc itself; the shipped choices from the shipped JSON
records, before (at git revision BEFORE_REF, the tree before the re-selection) and now (the
working tree), each matched to a re-run by its training options. ``--write`` replaces the text between
the ``selection-table`` markers of the doc; without it the tables are printed.

Selection rule (the docs' rule, made explicit): per variant the best epoch is the probed epoch
with the highest mean (the earliest on exact ties). Per family the variant with the highest
best-epoch mean wins, except that best-epoch means within TIE = 0.003 of the top (the seed
spread of the validation mean) count as tied; among tied candidates the flatter optimum wins:
the highest "floor", the lowest mean over the best epoch and its probed neighbours (what a
fixed epoch count one probe early or late would still get). This is how the L = 10 study
preferred lr 3e-5 (flat around epoch 4) to the 0.002 higher, sharp lr 1e-4 peaks.
"""
from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "pretraining.md"
SHIPPED = {"L=10": ROOT / "encoders/satclip/checkpoints/satclip_L10.json",
           "L=40": ROOT / "encoders/satclip/checkpoints/satclip_L40.json",
           "CSP": ROOT / "encoders/checkpoints/csp.json"}
BEFORE_REF = "731a7d0"  # the shipped checkpoints chosen on the benchmark's validation points
START, END = "<!-- selection-table:start -->", "<!-- selection-table:end -->"
TIE = 0.003
# options that do not change the trained weights, or that the re-runs add (not part of a variant)
RUN_ONLY = {"epochs", "resume", "tracking_uri", "out", "command", "probe", "probe_every", "probe_initial",
            "export_name", "variant_name", "threads", "probe_set", "probe_tasks", "report_probe_set"}
OLD_TASKS = ["air_temperature", "elevation", "population"]


def family(rec: dict) -> str:
    c = rec["config"]
    return "CSP" if c["model"] == "csp" else f"L={c['L']}"


def curve(rec: dict, key: str) -> list[tuple[int, float]]:
    """[(epoch, value)] of the probed epochs (epoch 0, the untrained network, excluded)."""
    return [(h["epoch"], h[key]) for h in rec["history"] if h.get("epoch", 0) > 0 and key in h]


def best(c: list[tuple[int, float]]) -> tuple[int, float, float]:
    """(best epoch, its mean, floor: the lowest mean over it and its probed neighbours)."""
    i = max(range(len(c)), key=lambda j: (c[j][1], -j))
    floor = min(v for _, v in c[max(0, i - 1): i + 2])
    return c[i][0], c[i][1], floor


def choose(cands: dict[str, list[tuple[int, float]]]) -> tuple[str, int]:
    """(variant, epoch) chosen by the rule in the module docstring."""
    bests = {n: best(c) for n, c in cands.items()}
    top = max(b[1] for b in bests.values())
    tied = [n for n, b in bests.items() if b[1] >= top - TIE - 1e-12]
    win = max(tied, key=lambda n: (bests[n][2], bests[n][1]))
    return win, bests[win][0]


def options(rec: dict) -> str:
    """The variant's options: the command without the run-only flags the re-runs add."""
    argv = shlex.split(rec["command"])[3:]
    out, skip = [], {"--seed", "--threads", "--tracking-uri", "--report-probe-set", "--out", "--probe-set"}
    i = 0
    while i < len(argv):
        if argv[i] in skip:
            i += 2
            continue
        out.append(argv[i])
        i += 1
    return " ".join(out)


def historical(doc: str) -> dict[str, tuple[int, float]]:
    """{variant: (best epoch, mean)} from the variant tables of the doc (12-cell rows)."""
    out = {}
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 12 and re.fullmatch(r"\d+", cells[4]) and cells[8].startswith("**"):
            out[cells[0]] = (int(cells[4]), float(cells[8].strip("*")))
    return out


def shipped_variant(ship: dict, runs: dict[str, dict]) -> str | None:
    """The re-run whose training options equal the shipped run's (None if none does)."""
    for name, rec in runs.items():  # the re-run's options (older records also list the other model's)
        keys = set(rec["config"]) - RUN_ONLY
        if all(rec["config"][k] == ship["config"].get(k) for k in keys):
            return name
    return None


def shipped_record(fam: str, ref: str | None) -> dict:
    """The shipped JSON record of ``fam`` at git revision ``ref`` (None: the working tree)."""
    path = SHIPPED[fam]
    if ref is None:
        return json.loads(path.read_text())
    rel = path.relative_to(ROOT).as_posix()
    return json.loads(subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:{rel}"], check=True,
                                     capture_output=True, text=True).stdout)


def same_training(ship: dict, rec: dict) -> bool:
    """The shipped run's losses equal the re-run's over the shipped run's epochs."""
    a = [(h["epoch"], h["train_loss"], h["val_loss"]) for h in ship["history"] if h.get("epoch", 0) > 0]
    b = [(h["epoch"], h["train_loss"], h["val_loss"]) for h in rec["history"] if h.get("epoch", 0) > 0][: len(a)]
    return a == b


def fmt_tasks(h: dict, prefix: str, tasks: list[str]) -> str:
    return " / ".join(f"{h[prefix + t]:.4f}" for t in tasks)


def render(runs_dir: Path, doc: str) -> str:
    runs = {}
    for d in sorted(p for p in runs_dir.iterdir() if p.is_dir()):
        js = [p for p in d.glob("*.json")]
        if js:
            runs[d.name] = json.loads(js[0].read_text())
    hist = historical(doc)
    fams: dict[str, dict[str, dict]] = {}
    for name, rec in runs.items():
        fams.setdefault(family(rec), {})[name] = rec
    lines, summary, checks = [], [], []
    for fam in ("L=10", "L=40", "CSP"):
        recs = fams.get(fam, {})
        if not recs:
            continue
        ship = shipped_record(fam, BEFORE_REF)
        sv = shipped_variant(ship, recs)
        now = shipped_record(fam, None)
        nv = shipped_variant(now, recs)
        new_c = {n: curve(r, "probe_mean") for n, r in recs.items()}
        old_c = {n: curve(r, "report_probe_mean") for n, r in recs.items()}
        new_choice, old_choice = choose(new_c), choose(old_c)
        hist_c = {n: [(hist[n][0], hist[n][1])] for n in recs if n in hist}
        lines += [f"#### {fam}", "",
                  "| variant | options (besides `--seed 0 --threads 1`) | before: historical best epoch, mean | "
                  "old criterion recomputed: best epoch, mean (air / elev / pop) | "
                  "new criterion (selection set): best epoch, mean (elev / pop) | floor | "
                  "selection mean by probed epoch |",
                  "|---|---|---|---|---|---|---|"]
        for n, rec in sorted(recs.items(), key=lambda kv: -best(new_c[kv[0]])[1]):
            hb = hist.get(n)
            oe, om, _ = best(old_c[n])
            ne, nm, nf = best(new_c[n])
            oh = next(h for h in rec["history"] if h["epoch"] == oe)
            nh = next(h for h in rec["history"] if h["epoch"] == ne)
            mark = lambda e, ch: " ✓" if ch == (n, e) else ""  # noqa: E731
            by_epoch = " / ".join(f"{e}: {v:.4f}" for e, v in new_c[n])
            lines.append(
                f"| {n} | `{options(rec)}` | {f'{hb[0]}, {hb[1]:.4f}' if hb else '–'}"
                f"{' ✓' if hb and n == sv and hb[0] == ship['epochs'] else ''} | "
                f"{oe}, **{om:.4f}**{mark(oe, old_choice)} ({fmt_tasks(oh, 'report_probe_', OLD_TASKS)}) | "
                f"{ne}, **{nm:.4f}**{mark(ne, new_choice)} ({fmt_tasks(nh, 'probe_', ['elevation', 'population'])}) | "
                f"{nf:.4f} | {by_epoch} |")
        lines.append("")
        shipped = f"{sv}, epoch {ship['epochs']}" if sv else f"(no re-run matches) epoch {ship['epochs']}"
        shipped_now = f"{nv}, epoch {now['epochs']}" if nv else f"(no re-run matches) epoch {now['epochs']}"
        changed = "no" if sv and new_choice == (sv, ship["epochs"]) else "**yes**"
        top = max(new_c, key=lambda n: (best(new_c[n])[1], n))
        summary.append(f"| {fam} | {shipped} | {old_choice[0]}, epoch {old_choice[1]} | "
                       f"{new_choice[0]}, epoch {new_choice[1]} | {top}, epoch {best(new_c[top])[0]} | "
                       f"{shipped_now} | {changed} |")
        if sv:  # the re-run of the shipped options reproduces the shipped run's training exactly
            checks.append(f"- {fam}, before: the re-run `{sv}` "
                          f"{'reproduces' if same_training(ship, recs[sv]) else 'does NOT reproduce'} the "
                          f"previously shipped run's train and validation losses for its {ship['epochs']} epochs.")
        if nv and (nv, now["epochs"]) != (sv, ship["epochs"]):
            checks.append(f"- {fam}, now: the shipped run (`{now['command']}`, sha256 "
                          f"`{now['checkpoint_sha256'][:16]}…`) "
                          f"{'reproduces' if same_training(now, recs[nv]) else 'does NOT reproduce'} the first "
                          f"{now['epochs']} epochs of the re-run `{nv}` (train and validation losses).")
        if (nv, now["epochs"]) != new_choice:
            checks.append(f"- {fam}: **the shipped checkpoint is not the new criterion's choice**.")
    sets = {json.dumps(r["tuned_on"], sort_keys=True) for r in runs.values()}
    if len(sets) != 1:
        raise SystemExit(f"the re-runs were probed on {len(sets)} different selection sets")
    t = json.loads(sets.pop())
    chk = t["disjoint_from_benchmark"]
    about = ["The selection set of every re-run (their records' `tuned_on`):", "",
             f"- tasks {', '.join(t['tasks'])}; builder options "
             + ", ".join(f"`{k}={v}`" for k, v in t["builder_options"].items()) + f"; `{t['split']}` split, "
             f"seed {t['split_seed']}: fit on {t['fit_on']}, scored on {t['scored_on']}",
             "- points sha256: " + ", ".join(f"{k} `{v[:16]}…`" for k, v in t["points_sha256"].items())
             + f"; (lon, lat) sha256 `{t['lonlat_sha256'][:16]}…`",
             f"- compared by {chk['by']} with " + ", ".join(f"{k} ({v:,})" for k, v in
                                                            chk["benchmark_points_compared"].items())
             + f": **{chk['coinciding_points']} coinciding points**"
             + (f"; not checked: {', '.join(chk['not_checked'])}" if chk["not_checked"] else ""),
             "- coinciding with the training locations: "
             + ", ".join(sorted({str(r["tuned_on"].get("coinciding_with_training_locations")) for r in runs.values()})),
             ""]
    head = ["| family | shipped before (chosen on benchmark val) | old criterion recomputed, same rule | "
            "new criterion (selection set) | new criterion, highest mean only (no tie rule) | shipped now | "
            "choice changed |", "|---|---|---|---|---|---|---|"]
    return "\n".join([*about, "### Re-selection results", "",
                      "Generated by `scripts/selection_table.py` from the re-runs' JSON records. ✓ marks the "
                      "choice of each criterion under the rule above. \"floor\" is the lowest selection mean over "
                      "the best epoch and its probed neighbours.", "",
                      *head, *summary, "", *checks, "", *lines]).rstrip() + "\n"


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", type=Path)
    p.add_argument("--write", type=Path, default=None, help="the doc whose selection-table section to replace")
    a = p.parse_args(argv)
    doc = (a.write or DOC).read_text()
    text = render(a.runs, doc)
    if not a.write:
        print(text)
        return 0
    if START not in doc or END not in doc:
        print(f"{a.write}: no {START} ... {END} markers", file=sys.stderr)
        return 1
    pre, rest = doc.split(START, 1)
    post = rest.split(END, 1)[1]
    a.write.write_text(pre + START + "\n" + text + END + post)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
