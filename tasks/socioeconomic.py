"""Socio-economic regression tasks: US county median income and California housing.

``median_income``
    Source: USDA ERS county median household income table as shipped with Jia & Benson
    (2020) (``median_income/income.csv``), joined on integer FIPS to the US Census Gazetteer
    county internal points (``median_income/county_internal_points.csv``). The 52 national
    and state total rows (FIPS ending in ``000``) are dropped; 3,140 counties match a point;
    the PE-GNN bounding box lon in (-130, -50), lat in (22, 50) keeps 3,107 counties.
    Target ``y`` = ``MedianIncome2016`` in US dollars. Fidelity: same data.

``california_housing``
    Source: the StatLib ``cal_housing.data`` file (Pace & Barry 1997; 1990 US census block
    groups), no header, 9 columns. Target ``y`` = ``medianHouseValue / 1e5`` (units of
    100,000 USD, as in scikit-learn). 20,640 block groups; 965 values are capped at 5.00001.
    Fidelity: same data.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from geobench.data import fetch

from .base import TaskSpec, register_task
from .climate import SATCLIP_CITATION

INCOME_FILE = "median_income/income.csv"
COUNTY_POINTS_FILE = "median_income/county_internal_points.csv"
HOUSING_FILE = "california_housing/cal_housing.data"

HOUSING_COLUMNS = ("longitude", "latitude", "housingMedianAge", "totalRooms", "totalBedrooms",
                   "population", "households", "medianIncome", "medianHouseValue")
HOUSING_CAP = 500001.0  # the census top-code of medianHouseValue, in USD

# PE-GNN (Klemmer et al. 2023) bounding box for the contiguous US: open intervals.
US_LON = (-130.0, -50.0)
US_LAT = (22.0, 50.0)


@register_task(TaskSpec(
    name="median_income",
    kind="regression",
    target="median household income 2016 (MedianIncome2016)",
    unit="USD",
    description="Median household income in 2016 for 3,107 contiguous-US counties at their "
    "Census internal points.",
    citation=SATCLIP_CITATION + " Klemmer, K., Safir, N. S., Neill, D. B. (2023). Positional Encoder "
    "Graph Neural Networks for Geographic Data. AISTATS. Jia, J., Benson, A. R. (2020). Residual "
    "Correlation in Graph Neural Network Regression. KDD. Data: USDA Economic Research Service; "
    "US Census Bureau Gazetteer county internal points.",
    fidelity="same data",
    files=(INCOME_FILE, COUNTY_POINTS_FILE),
    defaults={},
    proxy_note="",
    expected_size=3107,
))
def build_median_income() -> pd.DataFrame:
    """Counties as rows: ``lon``, ``lat`` (degrees), ``y`` = 2016 median income (USD), plus
    ``fips`` (int), ``state`` and ``county`` name."""
    inc = pd.read_csv(fetch(INCOME_FILE), thousands=",")
    n_income = len(inc)
    inc["fips"] = inc["FIPS"].astype(np.int64)
    is_total = (inc["fips"] % 1000 == 0).to_numpy()  # national (0) and state (SS000) totals
    inc = inc.loc[~is_total]

    pts = pd.read_csv(fetch(COUNTY_POINTS_FILE), dtype={"FIPS": str})
    pts["fips"] = pts["FIPS"].astype(np.int64)
    pts = pts[["fips", "ST", "COUNTY", "LAT", "LON"]]

    joined = inc.merge(pts, on="fips", how="inner", validate="one_to_one")
    lon = joined["LON"].to_numpy(np.float64)
    lat = joined["LAT"].to_numpy(np.float64)
    box = (lon > US_LON[0]) & (lon < US_LON[1]) & (lat > US_LAT[0]) & (lat < US_LAT[1])
    kept = joined.loc[box]
    df = pd.DataFrame({
        "lon": kept["LON"].to_numpy(np.float64),
        "lat": kept["LAT"].to_numpy(np.float64),
        "y": kept["MedianIncome2016"].to_numpy(np.float64),
        "fips": kept["fips"].to_numpy(np.int64),
        "state": kept["ST"].astype(str).to_numpy(),
        "county": kept["COUNTY"].astype(str).to_numpy(),
    })
    df.attrs["meta"] = {
        "n_income_rows": int(n_income),
        "n_total_rows_dropped": int(is_total.sum()),
        "n_joined": int(len(joined)),
        "n_unmatched_fips": int(len(inc) - len(joined)),
        "n_outside_bbox": int((~box).sum()),
    }
    return df


@register_task(TaskSpec(
    name="california_housing",
    kind="regression",
    target="median house value (medianHouseValue / 1e5)",
    unit="100,000 USD",
    description="Median house value of 20,640 California census block groups (1990 census).",
    citation=SATCLIP_CITATION + " Pace, R. K., Barry, R. (1997). Sparse spatial autoregressions. "
    "Statistics & Probability Letters 33(3):291-297.",
    fidelity="same data",
    files=(HOUSING_FILE,),
    defaults={},
    proxy_note="",
    expected_size=20640,
))
def build_california_housing() -> pd.DataFrame:
    """Block groups as rows: ``lon``, ``lat`` (degrees), ``y`` = median house value in units of
    100,000 USD (top-coded at 5.00001), plus the 7 census covariates of the file."""
    raw = pd.read_csv(fetch(HOUSING_FILE), header=None, names=list(HOUSING_COLUMNS))
    df = pd.DataFrame({
        "lon": raw["longitude"].to_numpy(np.float64),
        "lat": raw["latitude"].to_numpy(np.float64),
        "y": raw["medianHouseValue"].to_numpy(np.float64) / 1e5,
    })
    for c in HOUSING_COLUMNS[2:-1]:
        df[c] = raw[c].to_numpy(np.float64)
    df.attrs["meta"] = {"n_capped": int((raw["medianHouseValue"] >= HOUSING_CAP).sum())}
    return df
