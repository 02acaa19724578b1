"""``geobench pretrain satclip|csp``: train location encoders in this repository."""
from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("pretrain", help="train SatCLIP or CSP location encoders in this repo")
    p.add_argument("model", choices=["satclip", "csp"])
    p.add_argument("args", nargs=argparse.REMAINDER, help="options, see `geobench pretrain satclip -- --help`")
    p.set_defaults(func=cmd_pretrain)


def cmd_pretrain(args) -> int:
    from geobench.encoders.pretraining.cli import main as pretrain_main

    rest = [a for a in args.args if a != "--"]
    return pretrain_main(args.model, rest)
