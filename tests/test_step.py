"""The one training step, and honest run states: divergence, cancel during the final
extrapolation, damaged resume states."""

from __future__ import annotations

import hashlib

import pytest
import torch

from dtcli import runs
from dtcli.contracts.errors import DtError
from dtcli.engine.events import Listener
from dtcli.engine.step import ProgressiveObjective, reachable_parameters
from dtcli.engine.train import Diverged, train
from helpers import tiny_config


def grads_of(objective: ProgressiveObjective, x, y, nk) -> dict[str, torch.Tensor | None]:
    objective.zero_grad(set_to_none=True)
    loss, _, _ = objective(x, y, nk)
    loss.backward()
    skipped = {id(p) for p in objective.skipped}
    return {name: None if p.grad is None or id(p) in skipped else p.grad.clone()
            for name, p in objective.net.named_parameters()}


@pytest.mark.parametrize("arch, nk", [("dt-recall", (2, 1)), ("dt-recall", (0, 3)),
                                      ("ff-recall", (1, 2)), ("ff", (0, 1))])
def test_touching_skipped_parameters_changes_no_gradient(registry, arch, nk):
    """With touch_skipped (DDP) every parameter is in the graph, yet the gradients kept are
    exactly those of the plain step, and the skipped ones are exactly those it left alone."""
    problem = registry.problem("prefix-sums")
    torch.manual_seed(0)
    net = registry.arch(arch).build(problem, width=4, max_iters=4).train()
    x, y = problem.dataset("test", 6, 5, seed=1)
    x, y = x.float(), y.long()
    plain = ProgressiveObjective(net, problem, alpha=1.0, max_iters=4)
    expected = grads_of(plain, x, y, nk)
    touched = ProgressiveObjective(net, problem, alpha=1.0, max_iters=4)
    touched.touch_skipped = True
    loss, _, _ = touched(x, y, nk)
    assert reachable_parameters(loss) == {id(p) for p in net.parameters()}
    got = grads_of(touched, x, y, nk)
    assert {n for n, g in got.items() if g is None} == {n for n, g in expected.items() if g is None}
    for name, grad in expected.items():
        if grad is not None:
            assert torch.equal(grad, got[name]), name
    skipped = {n for n, p in net.named_parameters() if any(p is q for q in touched.skipped)}
    if nk[0] > 0:
        assert any(n.startswith("projection") for n in skipped)  # the warm-up ran without grad
    else:
        assert not any(n.startswith("projection") for n in skipped)


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_divergence_fails_the_run_and_keeps_the_last_good_state(tmp_path, registry, monkeypatch):
    problem_cls = type(registry.problem("prefix-sums"))
    real = problem_cls.loss
    run = tmp_path / "run"
    kept = {}

    class Diverge(Listener):
        def on_epoch_end(self, record):
            if record["epoch"] == 1:
                kept.update(best=sha(run / runs.BEST), last=sha(run / runs.LAST))

        def on_batch(self, epoch, step, steps, loss):
            if (epoch, step) == (2, 1):
                monkeypatch.setattr(problem_cls, "loss",
                                    lambda self, *a: real(self, *a) * float("nan"))

    with pytest.raises(Diverged, match=r"diverged at epoch 2, step 2 \(loss nan\).*"
                       r"last.pt keeps the state of the end of epoch 1 and best.safetensors "
                       r"the weights of epoch 1; lower --lr"):
        train(tiny_config(), run, listener=Diverge())
    doc = runs.read_run_config(run)
    assert doc["status"] == "failed" and "diverged at epoch 2, step 2" in doc["reason"]
    assert sha(run / runs.BEST) == kept["best"] and sha(run / runs.LAST) == kept["last"]
    assert not (run / runs.EXTRAPOLATION).exists()


def test_cancel_during_final_extrapolation_is_a_cancelled_run(tmp_path):
    run = tmp_path / "run"

    class CancelInTest(Listener):
        hit = False

        def on_extrapolation_start(self, difficulty, iters, count):
            CancelInTest.hit = True

    listener = CancelInTest()
    result = train(tiny_config(test_count=40), run, listener=listener,
                   cancel=lambda: CancelInTest.hit)
    assert result.status == "cancelled" and result.epochs_done == 3
    assert runs.read_run_config(run)["status"] == "cancelled"
    assert not (run / runs.EXTRAPOLATION).exists()  # no partial curve passed off as complete
    resumed = train(tiny_config(test_count=40), run, resume=True)
    assert resumed.status == "finished" and runs.read_extrapolation(run)["results"]


@pytest.mark.parametrize("field, value, message", [
    ("epoch", -1, "epoch -1"), ("epoch", "2", "epoch '2'"), ("step", 99, "step 99"),
    ("history", {"a": 1}, "history"), ("best_val", float("nan"), "best_val"),
    ("tally", [1.0, "x", 3.0], "running sums"), ("model", {"bogus": torch.zeros(1)}, "does not match"),
])
def test_damaged_resume_state_is_one_clear_error(tmp_path, field, value, message):
    run = tmp_path / "run"
    cfg = tiny_config(epochs=1)
    train(cfg, run)
    state = torch.load(run / runs.LAST, weights_only=True)
    if field == "tally":
        state.update(step=1, batch_rng=torch.Generator().get_state(), nk_rng=None)
    state[field] = value
    torch.save(state, run / runs.LAST)
    with pytest.raises(DtError, match=message):
        train(tiny_config(epochs=2), run, resume=True)
