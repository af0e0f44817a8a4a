"""``dt study seeds``: the success rule (a curve's peak up to an iteration, against a threshold)
on its own, and the study end to end, its success counts checked against peaks recomputed
from each run's extrapolation.json."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dtcli.contracts.errors import DtError
from dtcli.experiments.stats import parse_seeds, peak, succeeded

# -- the success rule --------------------------------------------------------------------------

ITERS = [1, 2, 3, 4, 5]


def test_seeds_are_a_count_or_a_list():
    assert parse_seeds("3") == [0, 1, 2] and parse_seeds("0,4,7") == [0, 4, 7]
    assert parse_seeds("4,") == [4]  # one seed alone, not a count of four
    for bad in ("0", "x", "-2"):
        with pytest.raises(DtError, match="--seeds"):
            parse_seeds(bad)


def test_success_at_exactly_the_threshold():
    acc = [10.0, 50.0, 99.0, 98.0, 97.0]
    assert succeeded(ITERS, acc, 99.0)  # reaching the threshold is success ...
    assert not succeeded(ITERS, acc, 99.0 + 1e-9)  # ... falling short by any amount is not
    assert succeeded(ITERS, acc, 0.0)
    assert not succeeded(ITERS, [0.0] * 5, 1e-9)


def test_the_peak_after_max_iter_does_not_count():
    acc = [10.0, 20.0, 30.0, 40.0, 100.0]
    assert peak(ITERS, acc, 4) == (4, 40.0)
    assert not succeeded(ITERS, acc, 99.0, max_iter=4)
    assert succeeded(ITERS, acc, 99.0, max_iter=5)  # max_iter itself is inside the window
    assert succeeded(ITERS, acc, 99.0)  # no max_iter: the whole curve
    assert peak(ITERS, acc) == (5, 100.0)
    assert peak(ITERS, acc, 50) == (5, 100.0)  # a limit past the curve is the whole curve


def test_max_iter_between_tested_iterations():
    iters, acc = [1, 2, 4, 8], [5.0, 60.0, 70.0, 90.0]
    assert peak(iters, acc, 7) == (4, 70.0)
    assert peak(iters, acc, 3) == (2, 60.0)
    assert succeeded(iters, acc, 70.0, max_iter=7) and not succeeded(iters, acc, 90.0, max_iter=7)


def test_ties_take_the_earliest_iteration():
    acc = [10.0, 80.0, 30.0, 80.0, 80.0]
    assert peak(ITERS, acc) == (2, 80.0)
    assert peak([3, 6, 9], [50.0, 50.0, 50.0]) == (3, 50.0)  # iterations, not positions
    assert peak(ITERS, [0.0] * 5) == (1, 0.0)


def test_an_empty_window_has_no_peak_and_no_success():
    iters, acc = [3, 4, 5], [99.5, 100.0, 100.0]
    assert peak(iters, acc, 2) == (None, 0.0)  # tested from iteration 3 on
    assert not succeeded(iters, acc, 50.0, max_iter=2)
    assert peak([], [], 10) == (None, 0.0)


def naive_peak(iters, accuracy, max_iter):
    """The best point at or before ``max_iter`` by a plain scan (strictly better replaces, so
    the earliest of equals stays)."""
    best = (None, 0.0)
    for i, a in zip(iters, accuracy):
        if (max_iter is None or i <= max_iter) and (best[0] is None or a > best[1]):
            best = (i, a)
    return best


@settings(max_examples=200, deadline=None, derandomize=True)
@given(points=st.lists(st.tuples(st.integers(1, 4), st.sampled_from([0.0, 12.5, 50.0, 99.0, 100.0])),
                       min_size=1, max_size=12),
       max_iter=st.one_of(st.none(), st.integers(0, 40)),
       success_at=st.sampled_from([0.5, 12.5, 50.0, 99.0, 100.0]))
def test_peak_and_success_agree_with_a_plain_scan(points, max_iter, success_at):
    iters, i = [], 0
    for step, _ in points:  # increasing iterations with gaps, like --iters 1,3,4,8
        i += step
        iters.append(i)
    acc = [a for _, a in points]
    expected = naive_peak(iters, acc, max_iter)
    assert peak(iters, acc, max_iter) == expected
    assert succeeded(iters, acc, success_at, max_iter) == (expected[0] is not None
                                                            and expected[1] >= success_at)


# -- the study ---------------------------------------------------------------------------------

#: 5-bit test strings: a barely trained net gets a few right, and not the same few on every
#: seed, so the runs' peaks differ
RECIPE = ["--width", "6", "--max-iters", "4", "--epochs", "2", "--train-count", "100",
          "--test-count", "20", "--test-iters", "6", "--train-difficulty", "8",
          "--test-difficulty", "5"]


def recorded_curves(out) -> dict[tuple[str, int], tuple[list[int], list[float]]]:
    """Every run's test curve, read from its own run directory (not from results.json)."""
    curves = {}
    for run in sorted((out / "runs").iterdir()):
        arch, seed = run.name.rsplit("-s", 1)
        results = json.loads((run / "extrapolation.json").read_text())["results"]
        assert list(results) == ["5"]
        curves[arch, int(seed)] = (results["5"]["iters"], results["5"]["fixed"]["accuracy"])
    return curves


def independent_peak(curve, max_iter=None) -> float:
    iters, acc = curve
    return max((a for i, a in zip(iters, acc) if max_iter is None or i <= max_iter), default=None)


def test_seeds_study_counts_the_runs_that_reach_the_threshold(cli, tmp_path):
    out = tmp_path / "seeds"
    args = ["study", "seeds", "prefix-sums", "--arch", "dt-recall,dt-l", "--seeds", "2",
            *RECIPE, "--out", out]
    result = cli(*args)
    assert result.exit_code == 0, result.output
    assert "success" in result.output and "every run" in result.output
    doc = json.loads((out / "results.json").read_text())
    assert doc["complete"] and len(doc["runs"]) == 4
    # seed by seed, so a study stopped early compares the architectures on the same seeds
    assert [(r["arch"], r["seed"]) for r in doc["runs"]] == [
        ("dt-recall", 0), ("dt-l", 0), ("dt-recall", 1), ("dt-l", 1)]
    assert (out / "results.csv").read_text().count("\n") == 5
    again = cli(*args, "--json")  # finished runs are not trained again
    assert again.exit_code == 0 and json.loads(again.stdout)["runs"] == doc["runs"]

    curves = recorded_curves(out)
    assert set(curves) == {("dt-recall", 0), ("dt-l", 0), ("dt-recall", 1), ("dt-l", 1)}
    for max_iter in (None, 1, 3):
        peaks = {key: independent_peak(c, max_iter) for key, c in curves.items()}
        levels = sorted(set(peaks.values()))
        # every recorded peak exactly (the boundary), between two of them, and above them all
        thresholds = levels + [(a + b) / 2 for a, b in zip(levels, levels[1:])]
        thresholds += [levels[-1] + 0.5] if levels[-1] < 100 else []
        for success_at in thresholds:
            limit = [] if max_iter is None else ["--max-iter", str(max_iter)]
            rerun = cli(*args, "--success-at", success_at, *limit, "--json")
            assert rerun.exit_code == 0, rerun.output
            got = json.loads(rerun.stdout)
            reached = {key for key, p in peaks.items() if p >= success_at}
            assert {(r["arch"], r["seed"]) for r in got["runs"] if r["success"]} == reached, \
                (success_at, max_iter, peaks)
            assert [r["peak"] for r in got["runs"]] == [peaks[r["arch"], r["seed"]]
                                                        for r in got["runs"]]
            for row in got["summary"]:
                mine = [key for key in peaks if key[0] == row["arch"]]
                assert row["runs"] == len(mine) == 2
                assert row["successes"] == sum(key in reached for key in mine)
                assert row["success_rate"] == row["successes"] / 2
    # the recipe is meant to spread the peaks, and to peak after iteration 1 somewhere:
    # otherwise the thresholds and the --max-iter window above test less
    assert len({independent_peak(c) for c in curves.values()}) > 1, curves
    assert any(independent_peak(c, 1) != independent_peak(c) for c in curves.values()), curves

    bad = cli("study", "seeds", "prefix-sums", "--arch", "dt-recal", "--seeds", "1", "--out", out)
    assert bad.exit_code == 2 and "did you mean 'dt-recall'" in bad.stderr


@pytest.mark.parametrize("value", ["-1", "100.5"])
def test_success_threshold_must_be_a_percentage(cli, tmp_path, value):
    result = cli("study", "seeds", "prefix-sums", "--arch", "dt-recall", "--seeds", "1",
                 *RECIPE, "--success-at", value, "--out", tmp_path / "s")
    assert result.exit_code == 2 and "--success-at must be a percentage" in result.stderr
    assert not (tmp_path / "s" / "runs").exists()  # refused before any training
