"""Air temperature: mean annual 2 m air temperature at weather stations (regression).

Source: the SatCLIP authors' copy of the Hooker, Duveiller & Cescatti (2018) station table,
``air_temperature/stationDataAll.csv`` (columns ``Lon, Lat, nObs, SG_rmsep, meanT, meanP, ...``).
Target ``y`` is ``meanT`` in degrees Celsius; 3,076 stations, lat -54.8..81.6 (no Antarctica).
Fidelity: same data as the paper.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from geobench.data import fetch

from .base import TaskSpec, register_task

SATCLIP_CITATION = (
    "Klemmer, K., Rolf, E., Robinson, C., Mackey, L., Russwurm, M. (2023). SatCLIP: Global, "
    "General-Purpose Location Embeddings with Satellite Imagery. arXiv:2311.17179."
)

AIR_TEMPERATURE_FILE = "air_temperature/stationDataAll.csv"


@register_task(TaskSpec(
    name="air_temperature",
    kind="regression",
    target="mean annual air temperature (meanT)",
    unit="degC",
    description="Mean annual air temperature at 3,076 weather stations worldwide.",
    citation=SATCLIP_CITATION + " Hooker, J., Duveiller, G., Cescatti, A. (2018). A global dataset of "
    "air temperature derived from satellite remote sensing and weather stations. Scientific Data 5:180246.",
    fidelity="same data",
    files=(AIR_TEMPERATURE_FILE,),
    defaults={},
    proxy_note="",
    expected_size=3076,
))
def build_air_temperature() -> pd.DataFrame:
    """Stations as rows: ``lon``, ``lat`` (degrees), ``y`` = meanT (degC), plus ``meanP`` (mm/yr)."""
    raw = pd.read_csv(fetch(AIR_TEMPERATURE_FILE))
    df = pd.DataFrame({
        "lon": raw["Lon"].to_numpy(np.float64),
        "lat": raw["Lat"].to_numpy(np.float64),
        "y": raw["meanT"].to_numpy(np.float64),
        "meanP": raw["meanP"].to_numpy(np.float64),
    })
    df.attrs["meta"] = {"n_rows_read": int(len(raw))}
    return df
