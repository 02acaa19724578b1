"""The report's statistics against scipy and Demšar's published table, and a comparison that must
come out as a tie."""
import numpy as np
import pytest
from scipy import stats

from geobench.reporting.stats import compare, friedman, holm, nemenyi_cd, paired_t, tally


def test_paired_t_is_scipys_with_its_interval():
    a = np.array([0.812, 0.830, 0.801, 0.822, 0.845])
    b = np.array([0.802, 0.801, 0.795, 0.809, 0.800])
    r = paired_t(a, b, "elevation")
    ref = stats.ttest_rel(a, b)
    assert r.t == pytest.approx(ref.statistic) and r.p == pytest.approx(ref.pvalue)
    ci = ref.confidence_interval(0.95)
    assert r.ci95 == pytest.approx((ci.low, ci.high))
    assert paired_t(a[:1], b[:1]).p is None  # one seed: no test
    same = paired_t(a, a - 0.01)  # a constant shift: t infinite, p 0
    assert same.p == 0.0 and same.t == np.inf
    copies = paired_t(np.full(5, 0.5), np.full(5, 0.2))  # a deterministic fit: seeds are copies, not replicates
    assert copies.p is None and copies.mean_diff == pytest.approx(0.3)
    res = compare({"africa": (np.full(5, 0.5), np.full(5, 0.2)), "t1": (a, b)})
    assert [r.verdict for r in res] == ["untested", "win"] and res[1].p_holm == pytest.approx(res[1].p)


def test_holm_matches_the_step_down_rule():
    # by hand: sorted 0.01, 0.03, 0.04 -> 3*0.01, max(.03, 2*0.03), max(.06, 1*0.04)
    assert holm([0.01, 0.04, 0.03, None]) == pytest.approx([0.03, 0.06, 0.06, None], abs=1e-12)
    assert holm([0.5, 0.9]) == [1.0, 1.0]


def test_a_win_on_raw_p_that_holm_turns_into_a_tie():
    # three tasks, 5 seeds: A is ahead on all three means; only one difference survives Holm.
    base = np.array([0.70, 0.71, 0.69, 0.72, 0.70])
    diffs = [[0.05, 0.06, 0.04, 0.05, 0.055],  # clear
             [0.01, 0.02, 0.0, 0.015, 0.005],  # t = 2.83, p = 0.047 alone; x2 under Holm
             [0.01, -0.01, 0.005, 0.0, 0.002]]  # noise
    pairs = {f"t{i}": (base + np.array(d), base) for i, d in enumerate(diffs)}
    res = compare(pairs)
    assert all(r.mean_diff > 0 for r in res)  # "beats on 3 of 3" by means
    assert [r.verdict for r in res] == ["win", "tie", "tie"]
    assert tally(res) == {"win": 1, "loss": 0, "tie": 2, "untested": 0}
    assert res[1].p < 0.05 < res[1].p_holm  # significant alone, not after the correction


def test_nemenyi_cd_matches_demsars_table():
    # Demšar (2006), Table 5(a): q_0.05 for k = 2..10 (two last digits of k=3 and k=7 differ by 1e-3)
    table = [1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164]
    for k, q in zip(range(2, 11), table):
        assert nemenyi_cd(k, 1) / np.sqrt(k * (k + 1) / 6) == pytest.approx(q, abs=1.5e-3)


def test_friedman_ranks_and_missing_blocks():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(8, 4)) + np.arange(4) * 0.8
    scores = {f"m{j}": {f"t{i}": X[i, j] for i in range(8)} for j in range(4)}
    r = friedman(scores)
    ref = stats.friedmanchisquare(*X.T)
    assert r.chi2 == pytest.approx(ref.statistic) and r.p == pytest.approx(ref.pvalue)
    assert min(r.mean_rank, key=r.mean_rank.get) == "m3" and sum(r.mean_rank.values()) == pytest.approx(10)
    # one method lacks a task: that task leaves the ranking, nobody is ranked on a missing cell
    del scores["m0"]["t0"]
    r2 = friedman(scores)
    assert r2.n == 7 and r2.k == 4
    # a method with most tasks missing is dropped and named
    scores["m9"] = {"t1": 9.0}
    assert friedman(scores).dropped == ("m9",)
