"""Old location of ``geobench pretrain``'s entry point, kept until ``benchmark/cli.py`` imports
:func:`geobench.encoders.pretraining.cli.main`; then delete this file."""
from .pretraining.cli import main

__all__ = ["main"]
