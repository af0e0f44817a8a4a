"""dt bench --solve-count: what a solved instance costs, measured on a trained model."""

from __future__ import annotations

import json


def test_bench_reports_the_cost_of_a_solved_instance(cli):
    out = cli("bench", "prefix-sums", "--width", "8", "--steps", "1", "--infer-iters", "4",
              "--infer-count", "4", "-d", "24", "--solve-count", "6", "--solve-iters", "60",
              "--model", "prefix-sums-dt-recall", "--json")
    assert out.exit_code == 0, out.output
    cost = json.loads(out.stdout)["solve_cost"]
    assert cost["model"] == "prefix-sums-dt-recall" and cost["count"] == 6
    assert 1 <= cost["solved"] <= 6 and cost["cpu_s"] > 0
    # both figures are rounded to 0.01 s from the same measurement
    assert abs(cost["cpu_s_per_solved"] - cost["cpu_s"] / cost["solved"]) <= 0.01
    # halted instances leave the batch: fewer instance-iterations than 6 x 60
    assert 0 < cost["instance_iters"] < 6 * 60


def test_bench_solve_check_halts_mazes_at_their_checked_answers(cli):
    """--solve-check adds the label-free path check to the halting rule: with a patience no
    maze reaches, the instance-iterations are exactly those dt test --halt-on-check runs."""
    common = ["--solve-count", "8", "--solve-iters", "60", "--solve-patience", "1000",
              "--model", "mazes-dt-recall"]
    out = cli("bench", "mazes", "--width", "8", "--steps", "1", "--infer-iters", "2",
              "--infer-count", "2", "-d", "15", *common, "--solve-check", "--json")
    assert out.exit_code == 0, out.output
    cost = json.loads(out.stdout)["solve_cost"]
    assert cost["check"] is True and cost["solved"] >= 1
    test = json.loads(cli("test", "mazes-dt-recall", "-d", "15", "-n", "8", "--mode", "halt",
                          "-k", "1000", "--halt-on-check", "-i", "60", "--json").stdout)["halt"]
    assert cost["instance_iters"] == test["iterations_computed"] < 8 * 60
    assert cost["solved"] == test["correct"][-1]
