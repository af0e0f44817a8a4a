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
