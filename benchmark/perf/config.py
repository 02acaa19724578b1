"""What a perf run measures against (targets, the recorded official throughputs) and its
sizes and budgets (:class:`Config`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SECTIONS = ("sh", "encoders", "heads", "linear", "bootstrap", "cold", "memory", "grid", "probes", "projection")
DEFAULT_SECTIONS = ("sh", "encoders", "heads", "linear", "bootstrap", "cold", "memory")

# Throughput of the OFFICIAL code, recorded (not measured here) in
# shared/fixtures/satclip/README.md and shared/fixtures/geoclip/README.md: 2-core AMD EPYC,
# torch 2.13.0+cpu, torch.set_num_threads(2), one batch of 10,000 random coords, float64
# (GeoCLIP float32), median of 5 after 1 warm-up, two separate runs A / B on an idle machine.
OFFICIAL = {
    "sh_L10_analytic": {"runs_pts_per_s": [245_288, 180_702], "n": 10_000, "dtype": "float64",
                        "what": "official SatCLIP SphericalHarmonics L=10, harmonics_calculation='analytic'"},
    "sh_L40_analytic": {"runs_pts_per_s": [3_808, 4_004], "n": 10_000, "dtype": "float64",
                        "what": "official SatCLIP SphericalHarmonics L=40, harmonics_calculation='analytic'"},
    "satclip_sh10_siren": {"runs_pts_per_s": [94_010, 95_194], "n": 10_000, "dtype": "float64",
                           "what": "official SatCLIP location encoder (SH L=10 analytic + SIREN 2x256 -> 256)"},
    "geoclip": {"runs_pts_per_s": [5_563, 5_771], "n": 10_000, "dtype": "float32",
                "what": "official GeoCLIP LocationEncoder (wheel 1.3.0)"},
}
OFFICIAL_SOURCE = ("recorded in shared/fixtures/satclip/README.md and shared/fixtures/geoclip/README.md "
                   "(official code, idle 2-core AMD EPYC, torch 2.13.0+cpu, 2 threads, N=1e4); "
                   "not measured in this run")

TARGETS = {
    "sh_L10_f32": 1.5e6,   # pts/s, float32 row-major, N = 1e5
    "sh_L40_f32": 1.0e5,   # pts/s
    "sh_L40_vs_write": 2.0,  # time / fresh-array write bound
    "grid_warm_s": 15 * 60.0,
    "cold_run_s": 60.0,
    "memory_bytes": 4e9,   # 4 GB = 4e9 bytes
    "declared_grid_s": 6 * 3600.0,  # `reproduce --profile paper`, measured
}

MLP_ONE_CONFIG = {"hidden": 256, "depth": 1, "lr": 1e-3, "weight_decay": 1e-4, "dropout": 0.0}


@dataclass
class Config:
    """Sizes, budgets and options of one perf run (``--quick`` shrinks everything)."""

    quick: bool = False
    repeats: int = 3
    threads: int = 2
    seed: int = 0
    sh_n: int = 100_000
    sh_Ls: tuple[int, ...] = (10, 40)
    naive_budget: float = 8.0       # seconds per naive repeat (N is reduced to fit, scaled per point)
    enc_n: int = 100_000
    enc_budget: float = 30.0        # seconds per encoder repeat (N is reduced to fit, scaled per point)
    encoders: list[str] | None = None
    satclip_ckpt: str | None = None
    heads: tuple[str, ...] = ("linear", "mlp", "lightgbm")
    head_ns: tuple[int, ...] = (10_000, 100_000)
    head_dims: tuple[int, ...] = (256, 1600)
    head_budget: float = 180.0      # seconds per (head, size): fewer repeats when over budget
    head_options: dict = field(default_factory=dict)
    cold_repeats: int = 3
    cold_args: tuple[str, ...] = ()
    memory_n: int = 100_000
    memory_encoder: str = "sh:L=40"
    memory_repeats: int = 1
    grid_tasks: list[str] | None = None
    grid_encoders: list[str] | None = None
    grid_seeds: int = 5
    grid_executor: str = "serial"
    grid_jobs: int | None = None
    grid_repeats: int = 1
    grid_bootstrap: int = 1000
    runs: str = "results/runs.jsonl"  # projection: measured cell times
    probes_dir: str | None = None  # probes: a results folder kept between runs (resumable); None: temporary
    projection_workers: int = 2
    tmp: str | None = None
    calib_mb: int = 256

    @classmethod
    def make(cls, quick: bool = False, **over: Any) -> "Config":
        base = cls()
        if quick:
            base = cls(quick=True, sh_n=2_000, naive_budget=0.5, enc_n=500, enc_budget=2.0,
                       head_ns=(200, 500), head_dims=(16, 36), head_budget=5.0,
                       head_options={"mlp": {"params": dict(MLP_ONE_CONFIG), "max_epochs": 2},
                                     "lightgbm": {"params": {"n_estimators": 5}}},
                       cold_repeats=1, cold_args=("--n-points", "300", "--seeds", "1", "--tracking-uri", "none",
                                                  "--bootstrap", "0"),
                       memory_n=300, memory_encoder="sh:L=10", grid_tasks=["air_temperature"],
                       grid_encoders=["direct", "wrap"], grid_seeds=2, grid_bootstrap=0, calib_mb=16)
        for k, v in over.items():
            if v is not None:
                setattr(base, k, v)
        return base
