"""Contrastive (location, image) pretraining of SatCLIP and CSP location encoders
(``geobench pretrain satclip|csp``). Locations are (lon, lat) degrees.

Modules, in the order a run uses them: :mod:`.config` (options per model), :mod:`.pairs`
(locations, split, feature processing) with :mod:`.teachers` (frozen image-teacher features,
cached), :mod:`.model` (towers, optimiser), :mod:`.losses`, :mod:`.trainer` (training loop,
resume, :func:`~.trainer.pretrain`), :mod:`.probes` (validation probes), :mod:`.export`
(official-format checkpoint and JSON record) and :mod:`.cli` (``main(model, argv)``).
Nothing here imports torch until a model is built.
"""
from .config import CSPConfig, PretrainConfig, SatCLIPConfig, make_config
from .pairs import prepare_pairs
from .trainer import Trainer, pretrain

__all__ = ["PretrainConfig", "SatCLIPConfig", "CSPConfig", "make_config", "prepare_pairs", "Trainer", "pretrain"]
