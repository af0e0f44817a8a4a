"""Probes and CKA on the recurrent / feed-forward pairs a depth study trained
(``dt study depth --analyze``), written to the study's analysis.json."""

from __future__ import annotations

from typing import Any, Callable

from dtcli.contracts.errors import DtError
from dtcli.contracts.paths import atomic_write_json
from dtcli.engine.model import load_model
from dtcli.experiments.depth import StudyPlan

ANALYSIS_JSON = "analysis.json"


def study_pairs(doc: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``(recurrent run, feed-forward run)`` records of the same depth and seed."""
    pairs = []
    for rec in doc["runs"]:
        if not rec["recurrent"]:
            continue
        for ff in doc["runs"]:
            if not ff["recurrent"] and (ff["depth"], ff["seed"]) == (rec["depth"], rec["seed"]):
                pairs.append((rec, ff))
    return pairs


def analyze_study(plan: StudyPlan, doc: dict[str, Any], *, train_count: int = 2000,
                  count: int = 1000, cka_count: int = 500, seed: int = 0,
                  on_pair: Callable[[int, int, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Linear probes (model and twin side by side) and CKA (recurrent rows, feed-forward
    columns) on every recurrent / feed-forward pair of the study; written to analysis.json."""
    import torch

    from dtcli.analysis.cka import cka
    from dtcli.analysis.common import load_data, require_images, trained_iterations
    from dtcli.analysis.probes import probes

    pairs = study_pairs(doc)
    if not pairs:
        raise DtError("--analyze compares recurrent and feed-forward runs of the same depth, "
                      "and this study has no such pair yet (train both members)")
    device = torch.device("cpu")
    out: list[dict[str, Any]] = []
    for index, (rec, ff) in enumerate(pairs, 1):
        a, b = load_model(rec["run_dir"], device), load_model(ff["run_dir"], device)
        require_images(a.problem, "--analyze (linear probes)")
        d = a.problem.parse_difficulty(a.problem.default_test_difficulty)
        train = load_data(a.problem, d, train_count, seed, device, split="train")
        test = load_data(a.problem, d, count, seed, device)
        probe = [probes(m, train, test, trained_iterations(m), label=r["arch"]).to_dict()
                 for m, r in ((a, rec), (b, ff))]
        sim = cka(a, b, test[0][:cka_count], trained_iterations(a), trained_iterations(b))
        sim.model_a, sim.model_b = rec["arch"], ff["arch"]
        pair = {"depth": rec["depth"], "seed": rec["seed"], "recurrent": rec["run_dir"],
                "feed_forward": ff["run_dir"], "probes": probe, "cka": sim.to_dict()}
        out.append(pair)
        if on_pair is not None:
            on_pair(index, len(pairs), pair)
    analysis = {"study": str(plan.out), "train_count": train_count, "count": count,
                "cka_count": cka_count, "seed": seed, "pairs": out}
    atomic_write_json(plan.out / ANALYSIS_JSON, analysis)
    return analysis
