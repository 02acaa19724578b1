"""``geobench pretrain satclip|csp [options]``: contrastive location-encoder pretraining.

The ``geobench`` CLI calls :func:`main` with the model name and the remaining arguments.
Flags map one to one onto :mod:`.config` fields (CSP's tower flags onto ``csp_*``).
"""
from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys

from geobench.errors import GeobenchError

from .config import MODELS, TEACHERS, PretrainConfig, make_config
from .selection import PROBE_SETS

DESCRIPTION = """\
Pretrain a location encoder contrastively on (location, image) pairs.

Default data: 100k area-uniform land locations (a land mask only chooses where points are
drawn) with Blue Marble crops (imagery/bmng.jpg, ~7.4 km/px) and a frozen random-convolutional
-feature teacher (cached). --s2-root uses Sentinel-2 tiles in the S2-100K layout instead, with
RCF features or a user-supplied ResNet-18 backbone (--vision-weights).

Writes OUT/last.ckpt every epoch (resume with --resume), and at the end OUT/<name>.ckpt
(official SatCLIP checkpoint format; use it with --encoder satclip:L=<L>:ckpt=OUT/<name>.ckpt
or csp:ckpt=...) and OUT/<name>.json (command, seed, wall time, losses, validation probes,
the probe set as tuned_on).
Probes: after each epoch the linear head is scored on the VALIDATION part of the probe set:
by default elevation and population at points drawn off the benchmark (builder seed 2, 20,000
each, checked disjoint from every benchmark point), never on benchmark points (--probe-set).
"""


def build_parser(model: str) -> argparse.ArgumentParser:
    """The option parser of ``geobench pretrain MODEL``; defaults are ``make_config(model)``'s."""
    d = make_config(model)
    p = argparse.ArgumentParser(prog=f"geobench pretrain {model}", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("data")
    g.add_argument("--n-pairs", type=int, default=d.n_pairs, help="training locations (default %(default)s)")
    g.add_argument("--data-seed", type=int, default=d.data_seed,
                   help="seed of the land locations (default %(default)s; tasks use 0)")
    g.add_argument("--land-mask", default=d.land_mask, choices=("auto", "land10m", "elevation"),
                   help="land mask used to draw locations (never an image channel)")
    g.add_argument("--crop", type=int, default=d.crop, help="crop size in pixels (default %(default)s)")
    g.add_argument("--jitter", type=int, default=d.jitter, help="random crop-centre shift in px (default 0)")
    g.add_argument("--flip", action="store_true", help="random horizontal/vertical flips")
    g.add_argument("--s2-root", default="", help="Sentinel-2 folder in the S2-100K layout (index.csv + tiles)")
    g.add_argument("--vision-weights", default="",
                   help="ResNet-18 state_dict (torchvision/timm/torchgeo names, e.g. SSL4EO S2 MoCo) used as "
                        "the frozen image backbone for --s2-root")
    g = p.add_argument_group("image side")
    g.add_argument("--teacher", default=d.teacher, choices=TEACHERS,
                   help="frozen RCF features (rcf, rcf-multiscale 16/32/64 px), a small CNN trained end to end "
                        "(cnn), or --vision-weights (resnet18); default %(default)s")
    g.add_argument("--rcf-k", type=int, default=d.rcf_k, help="RCF filters (features = 2k per scale)")
    g.add_argument("--teacher-seed", type=int, default=d.teacher_seed,
                   help="seed of the frozen teacher's random filters (default %(default)s; kept fixed across --seed)")
    g.add_argument("--pca", type=int, default=d.pca, help="keep this many PCA-whitened teacher components (0 = off)")
    g = p.add_argument_group("location tower")
    if model == "satclip":
        g.add_argument("--L", type=int, default=d.L, help="spherical-harmonic degrees (default %(default)s)")
        g.add_argument("--hidden", type=int, default=d.hidden, help="SIREN width (default %(default)s)")
        g.add_argument("--layers", type=int, default=d.layers, help="SIREN hidden layers (default %(default)s)")
        g.add_argument("--degree-p", type=float, default=d.degree_p,
                       help="per-degree design: scale SH degree l by g(1+l)^-p and initialise/train the first "
                            "layer at the scale of an L=10 network (default off; folded into the checkpoint)")
    else:
        g.add_argument("--frequency-num", dest="csp_frequency_num", type=int, default=d.csp_frequency_num)
        g.add_argument("--min-radius", dest="csp_min_radius", type=float, default=d.csp_min_radius)
        g.add_argument("--max-radius", dest="csp_max_radius", type=float, default=d.csp_max_radius)
        g.add_argument("--hidden", dest="csp_hidden", type=int, default=d.csp_hidden)
        g.add_argument("--layers", dest="csp_layers", type=int, default=d.csp_layers)
        g.add_argument("--act", dest="csp_act", default=d.csp_act, choices=("gelu", "relu", "leakyrelu", "tanh"))
        g.add_argument("--layernorm", dest="csp_layernorm", action="store_true")
        g.add_argument("--neg-weight", dest="csp_neg_weight", type=float, default=d.csp_neg_weight)
        g.add_argument("--simcse-weight", dest="csp_simcse_weight", type=float, default=d.csp_simcse_weight)
    g.add_argument("--dropout", type=float, default=d.dropout, help="dropout (default %(default)s)")
    g.add_argument("--embed-dim", type=int, default=d.embed_dim)
    g = p.add_argument_group("objective and optimisation")
    g.add_argument("--soft-targets", dest="soft_targets", action="store_true", default=d.soft_targets,
                   help="soft targets softmax(cos(teacher_i, teacher_j)/tau)")
    g.add_argument("--no-soft-targets", dest="soft_targets", action="store_false", help="hard (diagonal) targets")
    g.add_argument("--soft-tau", type=float, default=d.soft_tau)
    g.add_argument("--temperature", type=float, default=d.temperature, help="initial temperature (default 0.07)")
    g.add_argument("--fixed-temperature", dest="learn_temperature", action="store_false")
    g.add_argument("--epochs", type=int, default=d.epochs, help="fixed number of epochs (default %(default)s)")
    g.add_argument("--batch-size", type=int, default=d.batch_size)
    g.add_argument("--lr", type=float, default=d.lr)
    g.add_argument("--weight-decay", type=float, default=d.weight_decay)
    g.add_argument("--seed", type=int, default=d.seed, help="model/shuffle/split seed (default %(default)s)")
    g.add_argument("--recipe", choices=("default", "official"), default="default",
                   help="official: SatCLIP's recipe (hard targets, dropout 0.5, learnable temperature, "
                        "lr 1e-4, weight decay 0.01) on top of the other options")
    g = p.add_argument_group("run")
    g.add_argument("--out", default="", help="output folder (default results/pretrain/<variant>)")
    g.add_argument("--resume", action="store_true", help="continue from OUT/last.ckpt")
    g.add_argument("--no-probe", dest="probe", action="store_false", help="skip the validation probes")
    g.add_argument("--probe-set", default=d.probe_set, choices=PROBE_SETS,
                   help="points the probes are scored on: selection (default; elevation and population drawn "
                        "with builder seed 2, checked disjoint from every benchmark point) or benchmark-val "
                        "(SUPERSEDED: the benchmark's own validation points of air temperature, elevation and "
                        "population; only to reproduce runs made before the selection set)")
    g.add_argument("--report-probe-set", default="", choices=("",) + PROBE_SETS,
                   help="also log probes on this set as report_probe_* (for comparisons; never used to choose)")
    g.add_argument("--probe-every", type=int, default=d.probe_every)
    g.add_argument("--probe-initial", action="store_true", help="also probe the untrained network (epoch 0)")
    g.add_argument("--tracking-uri", default="", help="MLflow URI (default sqlite under results/; 'none' = off)")
    g.add_argument("--variant-name", default="", help="name of this run (MLflow run name, output folder)")
    g.add_argument("--export-name", default="", help="checkpoint/record file stem (default satclip_L<L> or csp)")
    g.add_argument("--threads", type=int, default=d.threads, help="torch threads (default %(default)s)")
    g.add_argument("-v", "--verbose", action="store_true")
    return p


def parse_config(model: str, argv: list[str]) -> tuple[PretrainConfig, argparse.Namespace]:
    """(config, parsed arguments) of ``geobench pretrain MODEL ARGV``; the config records the command."""
    args = build_parser(model).parse_args(argv)
    kw = {k: v for k, v in vars(args).items() if k not in ("recipe", "verbose")}
    if args.recipe == "official":
        kw.update(soft_targets=False, dropout=0.5, learn_temperature=True, temperature=0.07, lr=1e-4,
                  weight_decay=0.01)
    cfg = make_config(model, command=" ".join(["geobench", "pretrain", model] + [shlex.quote(a) for a in argv]),
                      **kw)
    return cfg, args


def main(model: str, argv: list[str]) -> int:
    """Entry point of ``geobench pretrain MODEL ARGS``; returns the exit code."""
    if model not in MODELS:
        print(f"geobench pretrain: unknown model {model!r}; use satclip or csp", file=sys.stderr)
        return 2
    cfg, args = parse_config(model, list(argv))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    from .trainer import pretrain

    try:
        rec = pretrain(cfg)
    except GeobenchError as e:
        print(f"geobench pretrain {model}: {e}", file=sys.stderr)
        return 1
    summary = {k: rec.get(k) for k in ("out", "checkpoint", "checkpoint_bytes", "wall_seconds", "val_loss",
                                       "temperature", "probes_val")}
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "", sys.argv[2:]))
