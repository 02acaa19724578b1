"""Options of ``geobench pretrain``: a shared base plus one dataclass per model.

:class:`PretrainConfig` holds what SatCLIP and CSP share (pairs, image side, objective,
optimisation, run); :class:`SatCLIPConfig` adds the SH + SIREN location tower and
:class:`CSPConfig` the Space2Vec-grid + FFN tower and CSP's loss terms. Defaults are the
L = 10 configuration shipped before the re-selection on the selection set (kept, so recorded
commands keep their meaning; the shipped commands spell their options out), except the probe
set, which defaults to the selection set (:mod:`.selection`). Field names are the option
names of the ``config`` in the JSON records and the resume state (``last.ckpt``); records
written when one config carried both models' options are read with :func:`config_from_dict`
(the other model's keys are ignored).
Angles are degrees (``csp_min_radius``, ``csp_max_radius``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from geobench.errors import InputError

from .selection import PROBE_SETS, check_probe_set, probe_tasks

MODELS = ("satclip", "csp")
TEACHERS = ("rcf", "rcf-multiscale", "cnn", "resnet18")
# options that may change between a run and its resumption
RESUME_FREE = {"epochs", "resume", "tracking_uri", "out", "command", "probe", "probe_every", "probe_initial",
               "export_name", "variant_name", "threads", "report_probe_set"}
# the probe set of records and states written before ``probe_set`` existed
LEGACY_PROBE_SET = "benchmark-val"


@dataclass
class PretrainConfig:
    """Options shared by both models; build a model's config with :func:`make_config`."""

    model: str = field(default="", init=False)
    n_pairs: int = 100_000
    epochs: int = 4
    batch_size: int = 512
    lr: float = 3e-5
    weight_decay: float = 0.01
    dropout: float = 0.0
    soft_targets: bool = False
    soft_tau: float = 0.1
    teacher: str = "rcf"
    rcf_k: int = 256
    crop: int = 32  # pixels
    jitter: int = 0  # pixels
    flip: bool = False
    pca: int = 0
    embed_dim: int = 256
    temperature: float = 0.07
    learn_temperature: bool = True
    max_logit_scale: float = 100.0
    val_frac: float = 0.1
    seed: int = 0
    data_seed: int = 1
    teacher_seed: int = 0
    land_mask: str = "auto"
    probe: bool = True
    probe_every: int = 1
    probe_initial: bool = False
    probe_set: str = "selection"
    probe_tasks: tuple = ()  # empty: the probe set's tasks (filled in on construction)
    report_probe_set: str = ""  # also log probes on this set (report_probe_* keys), never used to select
    out: str = ""
    resume: bool = False
    s2_root: str = ""
    vision_weights: str = ""
    tracking_uri: str = ""
    variant_name: str = ""
    threads: int = 2
    export_name: str = ""
    command: str = field(default="", compare=False)

    # options that must be >= 1, in the order they are checked
    POSITIVE: ClassVar[tuple[str, ...]] = ("n_pairs", "epochs", "batch_size", "rcf_k", "crop", "embed_dim")

    def __post_init__(self) -> None:
        if not self.probe_tasks and self.probe_set in PROBE_SETS:
            self.probe_tasks = probe_tasks(self.probe_set)
        self.probe_tasks = tuple(self.probe_tasks)

    def check(self) -> None:
        """Raise InputError naming the first invalid option."""
        check_probe_set(self.probe_set)
        if self.report_probe_set:
            check_probe_set(self.report_probe_set)
        if self.model not in MODELS:
            raise InputError(f"unknown model {self.model!r}; use one of {MODELS}")
        if self.teacher not in TEACHERS:
            raise InputError(f"unknown teacher {self.teacher!r}; use one of {TEACHERS}")
        if self.teacher == "resnet18" and not (self.s2_root and self.vision_weights):
            raise InputError("--teacher resnet18 needs --s2-root and --vision-weights")
        if self.vision_weights and not self.s2_root:
            raise InputError("--vision-weights applies to Sentinel-2 tiles; pass --s2-root too")
        if self.s2_root and self.teacher in ("rcf-multiscale", "cnn"):
            raise InputError(f"--teacher {self.teacher} is for Blue Marble crops; with --s2-root use rcf or resnet18")
        for name in self.POSITIVE:
            if getattr(self, name) < 1:
                raise InputError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if self.batch_size < 2:
            raise InputError("--batch-size must be >= 2 (in-batch negatives)")
        if not 0 <= self.dropout < 1:
            raise InputError(f"--dropout must be in [0, 1), got {self.dropout}")
        if not 0 < self.val_frac < 0.5:
            raise InputError(f"val_frac must be in (0, 0.5), got {self.val_frac}")
        if self.lr <= 0 or self.temperature <= 0 or self.soft_tau <= 0:
            raise InputError("--lr, --temperature and --soft-tau must be > 0")
        if self.pca < 0:
            raise InputError(f"--pca must be >= 0 (0 = off), got {self.pca}")

    def default_stem(self) -> str:
        """File stem of the exported checkpoint and record when ``export_name`` is empty."""
        raise NotImplementedError

    def export_stem(self) -> str:
        return self.export_name or self.default_stem()

    def out_dir(self) -> Path:
        """``out``, else ``results/pretrain/<variant_name or satclip-L<L> / csp>``."""
        if self.out:
            return Path(self.out).expanduser()
        return Path("results") / "pretrain" / (self.variant_name or self.default_stem().replace("_", "-"))


@dataclass
class SatCLIPConfig(PretrainConfig):
    """SatCLIP: spherical harmonics of degree l < ``L`` -> SIREN (``layers`` x ``hidden``);
    ``degree_p`` scales degree l by ``g (1 + l) ** -degree_p`` (None: off)."""

    model: str = field(default="satclip", init=False)
    L: int = 10
    hidden: int = 256
    layers: int = 2
    degree_p: float | None = None

    POSITIVE: ClassVar[tuple[str, ...]] = ("L", "n_pairs", "epochs", "batch_size", "rcf_k", "crop", "hidden",
                                           "layers", "embed_dim")

    def default_stem(self) -> str:
        return f"satclip_L{self.L}"


@dataclass
class CSPConfig(PretrainConfig):
    """CSP (Mai et al. 2023): Space2Vec-grid (``csp_frequency_num`` scales from
    ``csp_min_radius`` to ``csp_max_radius`` degrees) -> FFN, and the ``contsoftmax`` loss
    weights and temperatures. Dropout defaults to CSP's 0.5."""

    model: str = field(default="csp", init=False)
    dropout: float = 0.5
    csp_frequency_num: int = 32
    csp_min_radius: float = 0.1
    csp_max_radius: float = 360.0
    csp_hidden: int = 512
    csp_layers: int = 1
    csp_act: str = "gelu"
    csp_layernorm: bool = False
    csp_neg_weight: float = 1.0
    csp_simcse_weight: float = 1.0
    csp_temp_negloc: float = 1.0
    csp_temp_simcse: float = 1.0

    def default_stem(self) -> str:
        return "csp"


CONFIGS: dict[str, type[PretrainConfig]] = {"satclip": SatCLIPConfig, "csp": CSPConfig}


def make_config(model: str = "satclip", **options: Any) -> PretrainConfig:
    """The config of ``model`` (``satclip`` or ``csp``) with ``options`` set."""
    if model not in CONFIGS:
        raise InputError(f"unknown model {model!r}; use one of {MODELS}")
    return CONFIGS[model](**options)


def config_dict(cfg: PretrainConfig) -> dict[str, Any]:
    """The options as plain JSON values (the ``config`` of records and of the resume state)."""
    d = asdict(cfg)
    d["probe_tasks"] = list(cfg.probe_tasks)
    return d


def config_from_dict(d: dict[str, Any]) -> PretrainConfig:
    """A config from a record's ``config`` (:func:`config_dict`), including records that list
    both models' options: keys the model does not have are ignored. Records written before
    ``probe_set`` existed probed the benchmark's validation points (:data:`LEGACY_PROBE_SET`)."""
    cls = CONFIGS.get(d.get("model", "satclip"))
    if cls is None:
        raise InputError(f"unknown model {d.get('model')!r} in the record; use one of {MODELS}")
    names = {f.name for f in fields(cls) if f.init}
    kw = {k: v for k, v in d.items() if k in names}
    kw.setdefault("probe_set", LEGACY_PROBE_SET)
    if "probe_tasks" in kw:
        kw["probe_tasks"] = tuple(kw["probe_tasks"])
    return cls(**kw)


__all__ = ["PretrainConfig", "SatCLIPConfig", "CSPConfig", "CONFIGS", "MODELS", "TEACHERS", "RESUME_FREE",
           "LEGACY_PROBE_SET",
           "make_config", "config_dict", "config_from_dict"]
