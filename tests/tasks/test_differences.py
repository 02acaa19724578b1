"""Every task says, as fields, how its data differs from the paper's; measures are computed."""
from __future__ import annotations

import numpy as np
import pytest

from geobench.tasks.base import TASKS, TaskSpec, get_spec, load_task
from geobench.tasks.differences import Difference, describe_measure, measure, measured, parse_measure


@pytest.mark.parametrize("name", TASKS.names())
def test_every_task_has_differences_as_fields(name):
    spec = get_spec(name)
    assert isinstance(spec.differences, tuple)
    assert all(isinstance(d, Difference) and d.aspect and d.paper and d.ours for d in spec.differences)
    if spec.fidelity == "same data":
        assert spec.differences == ()  # the paper's own file: nothing to declare
    else:
        assert spec.differences, f"{name} is a {spec.fidelity} but declares no difference"
    for d in spec.differences:
        if d.measure:
            parse_measure(d.measure)
        if d.option:  # the option names a real task option (or the exclude= every task has)
            key = d.option.split("=")[0]
            assert key == "exclude" or key in spec.defaults
        assert set(d.to_dict()) == {"aspect", "paper", "ours", "option", "measure"}


def test_the_sampled_classification_tasks_declare_ocean_and_antarctica():
    for name in ("countries", "biome", "ecoregions"):
        aspects = {d.aspect: d for d in get_spec(name).differences}
        assert {"labels", "points", "ocean", "Antarctica"} <= set(aspects)
        assert aspects["ocean"].option == "include_ocean=True" and aspects["ocean"].measure == "class_share:ocean"
        assert aspects["Antarctica"].measure == "continent_share:Antarctica"
    assert "67 %" in {d.aspect: d for d in get_spec("countries").differences}["ocean"].paper
    assert {d.aspect: d for d in get_spec("countries").differences}["Antarctica"].option == "exclude=Antarctica"


def test_bad_measures_and_entries_are_refused():
    with pytest.raises(ValueError, match="continent_share"):
        Difference("x", "a", "b", measure="area_share:Antarctica")
    with pytest.raises(ValueError, match="continent_share"):
        parse_measure("continent_share")
    with pytest.raises(ValueError, match="Difference"):
        TaskSpec(name="t", kind="regression", target="t", unit="u", description="", citation="",
                 fidelity="close proxy", files=(), differences=("a note",))
    assert describe_measure("continent_share:Antarctica") == "share of points on continent Antarctica"


@pytest.fixture(scope="module")
def countries():
    return load_task("countries")


def test_antarctica_share_of_the_real_countries_points(countries):
    df = countries.df
    d = {d.aspect: d for d in countries.spec.differences}["Antarctica"]
    share = measure(df, d.measure)
    # other routes: the admin-0 polygon label, and latitude (Antarctica is the land south of 60 degS;
    # two South Orkney points there are labelled Antarctica but assigned to no continent)
    by_label = float(np.mean(df["class_name"].to_numpy() == "Antarctica"))
    by_lat = float(np.mean(df["lat"].to_numpy() < -60))
    assert 0.07 < share < 0.10
    assert abs(share - by_label) < 1e-4 and abs(share - by_lat) < 1e-4
    # and exactly what exclude=Antarctica drops
    rest = load_task("countries", exclude="Antarctica")
    assert rest.meta["n_excluded"] == round(share * len(df)) == len(df) - len(rest)
    assert measure(rest.df, d.measure) == 0.0


def test_default_countries_is_land_only_and_keeps_antarctica(countries):
    assert countries.options.get("exclude") is None and countries.spec.defaults["include_ocean"] is False
    values = measured(countries.spec.differences, countries.df)
    by_aspect = dict(zip([d.aspect for d in countries.spec.differences], values))
    assert by_aspect["ocean"] == 0.0 and by_aspect["Antarctica"] > 0.05
    assert by_aspect["labels"] is None


def test_ocean_share_is_measured_when_ocean_is_kept():
    p = load_task("countries", n_points=4000, include_ocean=True)
    assert measure(p.df, "class_share:ocean") == p.meta["n_ocean"] / 4000
    assert measure(p.df[["lon", "lat", "continent"]], "class_share:ocean") == 0.0  # no classes, no ocean class


def test_geobench_list_prints_the_differences(capsys):
    from geobench.cli import main

    assert main(["list", "tasks"]) == 0
    out = capsys.readouterr().out
    assert "differs in Antarctica: paper: not stated; ours: kept by default" in out
    assert "(option exclude=Antarctica)" in out and "differs in ocean" in out
