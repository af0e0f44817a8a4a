"""A conformance kit for plugin authors: ``check_problem`` and ``check_architecture``.

Call them from your own tests::

    from dtcli.testing import check_problem, check_architecture

    def test_my_problem_conforms():
        check_problem(MyProblem)

Each check raises ``AssertionError`` with a message that names what is missing or wrong. The
built-in problems and architectures pass the same checks.
"""

from __future__ import annotations

import random
from typing import Any

from dtcli.contracts.arch import Architecture
from dtcli.contracts.problem import Problem

KINDS = ("sequence", "grid", "board", "label")


def _fail(owner: str, message: str) -> None:
    raise AssertionError(f"{owner}: {message}")


def _check(condition: bool, owner: str, message: str) -> None:
    if not condition:
        _fail(owner, message)


def _instance(problem: Problem | type[Problem], options: dict[str, Any] | None) -> Problem:
    if isinstance(problem, Problem):
        return problem
    _check(isinstance(problem, type) and issubclass(problem, Problem), repr(problem),
           "is not a dtcli.api.Problem subclass or instance")
    return problem(**(options or {}))


def check_problem(problem: Problem | type[Problem], *, options: dict[str, Any] | None = None,
                  difficulty: Any = None, count: int = 4, arch: str = "dt-recall") -> None:
    """Check a problem against the contract: attributes, data, scoring, rendering, presets,
    and one tiny training step with ``arch``."""
    import torch

    p = _instance(problem, options)
    owner = f"problem {getattr(p, 'name', '?')!r}"
    cls = type(p)
    _check(isinstance(p.name, str) and p.name, owner, "needs a non-empty `name`")
    _check(bool(p.summary), owner, "needs a one-line `summary`")
    _check(p.kind in KINDS, owner, f"`kind` must be one of {KINDS}, got {p.kind!r}")
    _check(p.spatial_dims in (0, 1, 2), owner, f"`spatial_dims` must be 0, 1 or 2, got {p.spatial_dims}")
    _check(p.in_channels >= 1 and p.num_classes >= 2, owner,
           "needs `in_channels` >= 1 and `num_classes` >= 2")
    for method in ("generate", "render"):
        overridden = getattr(cls, method) is not getattr(Problem, method)
        # a problem bringing its own data (make_data) need not implement generate
        if method == "generate" and cls.make_data is not Problem.make_data:
            continue
        _check(overridden, owner, f"does not implement the required method {method}()")
    for attr in ("default_train_difficulty", "default_test_difficulty"):
        _check(bool(getattr(p, attr)), owner, f"needs `{attr}`")
        p.parse_difficulty(getattr(p, attr))

    d = p.parse_difficulty(difficulty if difficulty is not None else p.default_train_difficulty)
    x, y = p.dataset("train", d, count, seed=0)
    _check(len(x) == count and len(y) == count, owner,
           f"dataset(count={count}) returned {len(x)} inputs and {len(y)} targets")
    # a label problem's input may be an image; per-position problems match spatial_dims
    dims_ok = x.ndim >= 2 if p.kind == "label" else x.ndim == 2 + p.spatial_dims
    _check(dims_ok and x.shape[1] == p.in_channels, owner,
           f"inputs must be (N, {p.in_channels}, ...{p.spatial_dims} spatial dims), got {tuple(x.shape)}")
    expected_target = (count,) if p.kind == "label" else (count, *x.shape[2:])
    _check(tuple(y.shape) == expected_target, owner,
           f"targets must have shape {expected_target}, got {tuple(y.shape)}")
    x2, y2 = p.dataset("train", d, count, seed=0)
    _check(torch.equal(x, x2) and torch.equal(y, y2), owner, "dataset() is not deterministic by seed")
    if count > 1:
        x3, _ = p.dataset("train", d, count, seed=1)
        _check(not torch.equal(x, x3), owner, "dataset() ignores its seed")

    xf, yl = x.float(), y.long()
    perfect = torch.nn.functional.one_hot(yl, p.num_classes).movedim(-1, 1).float() * 20.0 - 10.0
    loss = p.loss(perfect, yl, xf)
    _check(bool(torch.isfinite(loss)) and float(loss) < 0.05, owner,
           f"loss of a perfect prediction should be near 0, got {float(loss):.4f}")
    pred = p.predict(perfect, xf)
    _check(bool(p.correct(pred, yl).all()), owner, "correct() rejects a perfect prediction")
    verified = p.verify(pred, xf, yl)
    if verified is not None:
        _check(bool(torch.as_tensor(verified).all()), owner, "verify() rejects a perfect prediction")
    wrong = p.predict(-perfect, xf)
    _check(not bool(p.correct(wrong, yl).all()), owner, "correct() accepts an inverted prediction")
    conf = p.confidence(perfect, xf)
    _check(tuple(conf.shape) == (count,), owner, f"confidence() must give one value per sample, got {tuple(conf.shape)}")

    import io

    from rich.console import Console

    console = Console(width=120, file=io.StringIO())
    probs = perfect.softmax(1)
    for args in ((x[0],), (x[0], pred[0], y[0], p.position_confidence(perfect, xf)[0], probs[0])):
        try:
            console.print(p.render(*args))
        except Exception as exc:  # noqa: BLE001
            _fail(owner, f"render{'' if len(args) == 1 else ' with a prediction'} failed: "
                         f"{type(exc).__name__}: {exc}")

    from dtcli.plugins import get_registry

    reg = get_registry()
    for name in p.presets:
        settings = p.preset(name, arch)
        from dtcli.config import build_config

        settings.pop("problem_options", None)
        build_config(p.name, arch, settings, name, {})
    architecture = reg.arch(arch)
    reason = architecture.supports(p)
    if reason is None:
        net = architecture.build(p, width=4, max_iters=2)
        _tiny_step(net, p, xf, yl, owner)


def _tiny_step(net, p: Problem, x, y, owner: str) -> None:
    """One progressive-loss step over the net's own max_iters (every block gets a gradient)."""
    from dtcli.engine.progressive import progressive_loss, sample_nk

    net.train()
    max_iters = net.config.get("max_iters", 2)
    out = progressive_loss(net, p, x, y, alpha=0.5, max_iters=max_iters,
                           nk=sample_nk(max_iters, random.Random(0)))
    out.loss.backward()
    grads = [q.grad for q in net.parameters() if q.requires_grad]
    _check(all(g is not None for g in grads), owner, "a training step left parameters without gradients")


def check_architecture(arch: Architecture, problem: Problem | None = None) -> None:
    """Check an architecture: metadata, build, rebuild from its config, shapes, iteration
    semantics (streaming equals forward; feed-forward nets refuse to think past their depth),
    effective depth, and a tiny training step."""
    import torch

    owner = f"architecture {getattr(arch, 'name', '?')!r}"
    _check(isinstance(arch, Architecture), owner, "is not a dtcli.api.Architecture instance")
    _check(bool(arch.name) and bool(arch.summary), owner, "needs a `name` and a `summary`")
    _check(bool(arch.kinds), owner, "needs `kinds`: the problem kinds it supports")
    _check(type(arch).build is not Architecture.build, owner, "does not implement build()")
    if problem is None:
        from dtcli.plugins import get_registry

        reg = get_registry()
        candidates = [cls() for cls in reg.problems.values()]
        problem = next((c for c in candidates if arch.supports(c) is None), None)
        _check(problem is not None, owner, "supports none of the registered problems")
    _check(arch.supports(problem) is None, owner, f"does not support {problem.name}: {arch.supports(problem)}")
    net = arch.build(problem, width=4, max_iters=3)
    from dtcli.contracts.net import IterativeNet

    _check(isinstance(net, IterativeNet), owner, "build() must return a dtcli.api.IterativeNet")
    again = arch.build(problem, **net.config)
    _check(again.num_parameters() == net.num_parameters(), owner,
           "building again from net.config gives a different network; config must hold every build keyword")
    x, y = problem.dataset("train", problem.parse_difficulty(problem.default_train_difficulty), 2, seed=0)
    x, y = x.float(), y.long()
    iters = min(3, net.max_depth or 3)
    net.eval()
    with torch.no_grad():
        logits, _ = net(x, iters)
        expected = (2, problem.num_classes, *y.shape[1:])
        _check(tuple(logits.shape) == expected, owner,
               f"logits must be {expected} for {problem.name}, got {tuple(logits.shape)}")
        steps = list(net.iterate(x, iters))
        _check([i for i, _ in steps] == list(range(1, iters + 1)), owner,
               "iterate() must yield iterations 1..n")
        _check(torch.allclose(net.answer(steps[-1][1]), logits, atol=1e-5), owner,
               "iterate() then answer() differs from forward()")
    _check(net.effective_depth(iters + 1) > net.effective_depth(iters), owner,
           "effective_depth() must grow with iterations")
    _check(arch.recurrent == (net.max_depth is None), owner,
           "a recurrent architecture's net has max_depth None; a feed-forward one its block count")
    if net.max_depth is not None:
        try:
            net(x, net.max_depth + 1)
        except Exception:  # noqa: BLE001 - the refusal is what we check
            pass
        else:
            _fail(owner, "a feed-forward net must refuse more iterations than its depth")
    _tiny_step(net, problem, x, y, owner)
