"""``dt analyze``: the analyses against independent computations, and every subcommand on tiny
models (tables, --json, --plot, and one clear line for bad input)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
import torch

from helpers import one_line_error

pytest.importorskip("sklearn")

PNG = b"\x89PNG\r\n\x1a\n"
IMAGE_TINY = ["-o", "dataset=digits", "--width", "8", "--epochs", "1", "--train-count", "300",
              "--test-count", "50", "--batch-size", "50", "--test-iters", "2", "--seed", "0"]


@pytest.fixture(scope="session")
def digits_pair(tmp_path_factory):
    """A tiny recurrent ConvNet and its feed-forward twin (effective depth 5: 2 iterations /
    blocks) trained for one epoch on digits."""
    from typer.testing import CliRunner

    from dtcli.cli import app
    from dtcli.plugins import reset_registry

    root = tmp_path_factory.mktemp("digits")
    mp = pytest.MonkeyPatch()
    mp.setenv("DT_HOME", str(root / "dt-home"))
    reset_registry()
    runs = {}
    for arch in ("recur-convnet", "convnet"):
        runs[arch] = root / arch
        result = CliRunner().invoke(app, ["train", "images", "--arch", arch, "--depth", "5",
                                          *IMAGE_TINY, "--out", str(runs[arch])])
        assert result.exit_code == 0, result.output
    mp.undo()
    reset_registry()
    return runs["recur-convnet"], runs["convnet"]


def json_of(result) -> dict:
    out = result.stdout
    return json.loads(out[out.index("{"):])


# -- CKA ---------------------------------------------------------------------------------------


def _numpy_cka(x, y) -> float:
    """Independent reference: HSIC with an explicit centring matrix, in numpy."""
    import numpy as np

    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    k, l_ = h @ x @ x.T @ h, h @ y @ y.T @ h
    return float(np.trace(k @ l_) / np.sqrt(np.trace(k @ k) * np.trace(l_ @ l_)))


@pytest.mark.parametrize("features", [12, 80])  # fewer and more features than instances
def test_linear_cka_invariances_and_identity(features):
    from dtcli.analysis.cka import linear_cka

    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, features, generator=g, dtype=torch.float64)
    y = x @ torch.randn(features, 7, generator=g, dtype=torch.float64) \
        + 0.5 * torch.randn(40, 7, generator=g, dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(features, features, generator=g, dtype=torch.float64))
    base = linear_cka(x, y)
    assert base == pytest.approx(_numpy_cka(x, y), abs=1e-10)
    assert linear_cka(x, x) == pytest.approx(1.0, abs=1e-12)
    assert linear_cka(x @ q, y) == pytest.approx(base, abs=1e-10)          # orthogonal
    assert linear_cka(3.7 * x, 0.01 * y) == pytest.approx(base, abs=1e-10)  # isotropic scaling
    assert linear_cka(x + 5.0, y) == pytest.approx(base, abs=1e-10)        # a shift (centring)
    assert 0.0 < linear_cka(x, torch.randn(40, 9, generator=g, dtype=torch.float64)) < base < 1.0


def test_cka_matrix_matches_pairwise_cka_of_thoughts(digits_pair):
    from dtcli.analysis.cka import cka, linear_cka
    from dtcli.analysis.common import load_data
    from dtcli.engine.model import load_model

    a, b = (load_model(r) for r in digits_pair)
    x, _ = load_data(a.problem, "standard", 30, 0, torch.device("cpu"))
    res = cka(a, b, x, 2, 2, batch_size=7)
    with torch.no_grad():
        ta = [t.clone() for _, t in a.net.iterate(x, 2)]
        tb = [t.clone() for _, t in b.net.iterate(x, 2)]
    for i in range(2):
        for j in range(2):
            assert res.matrix[i][j] == pytest.approx(linear_cka(ta[i], tb[j]), abs=1e-9)
    assert [s["effective_depth"] for s in res.same_depth()] == [4, 5]


# -- stability ---------------------------------------------------------------------------------


def test_lipschitz_estimate_matches_the_jacobians_spectral_norm(tiny_run):
    from dtcli.analysis.stability import lipschitz_estimate, think_lipschitz
    from dtcli.engine.model import load_model

    g = torch.Generator().manual_seed(0)
    w = torch.randn(3, 6, 6, generator=g)
    fn = lambda v: torch.tanh(torch.einsum("nij,nj->ni", w, v))  # noqa: E731
    x = torch.randn(3, 6, generator=g)
    exact = [torch.linalg.matrix_norm(torch.autograd.functional.jacobian(
        lambda v, k=k: torch.tanh(w[k] @ v), x[k]), 2) for k in range(3)]
    assert lipschitz_estimate(fn, x, steps=60).tolist() == pytest.approx(
        [float(e) for e in exact], rel=1e-4)
    # the real thing: a DT-recall block (in-place ops inside) on prefix sums
    net = load_model(tiny_run).net
    xs = torch.randint(0, 2, (2, 1, 8), generator=g).float()  # seeded: not the suite's order
    with torch.no_grad():
        thought, enc = net.start(xs), net.encode_input(xs)
    est = think_lipschitz(net, thought, enc, 0, steps=80, generator=g)
    for k in range(2):
        jac = torch.autograd.functional.jacobian(
            lambda t: net.think(t.unsqueeze(0), net.encode_input(xs[k:k + 1]), 0)[0],
            thought[k].clone()).reshape(thought[k].numel(), -1)
        assert float(est[k]) == pytest.approx(float(torch.linalg.matrix_norm(jac, 2)), rel=1e-3)
    assert all(p.requires_grad for p in net.parameters())


def test_settle_iterations():
    from dtcli.analysis.stability import settle_iterations

    change = torch.tensor([[1.0] * 5 + [1e-5] * 15, [1.0] * 20, [1e-5] * 19 + [1.0],
                           [1.0] * 14 + [1e-5] * 6])
    assert settle_iterations(change, 1e-3, window=10) == [6, None, None, None]


def test_stability_cli(cli, tiny_run, tmp_path):
    plot = tmp_path / "stab.svg"
    result = cli("analyze", "stability", tiny_run, "-d", "12", "--iters", "30", "--count", "12",
                 "--lipschitz-points", "3", "--lipschitz-count", "2", "--power-steps", "3",
                 "--plot", plot)
    assert result.exit_code == 0, result.output
    assert "stability" in result.output and "truncation" in result.output
    assert ET.parse(plot).getroot().tag.endswith("svg")
    doc = json_of(cli("analyze", "stability", tiny_run, "-d", "12", "--iters", "30",
                      "--count", "12", "--lipschitz-points", "3", "--json"))
    assert len(doc["change"]) == 30 and len(doc["accuracy"]) == 30 and doc["agreement"][-1] == 100.0
    assert doc["lipschitz"]["iters"] == [1, 16, 30] and all(v > 0 for v in doc["lipschitz"]["mean"])
    assert doc["summary"]["accuracy_at_max_iters"] == doc["accuracy"][3]  # max_iters 4


# -- perturb -----------------------------------------------------------------------------------


def test_perturb_zero_scale_changes_nothing_and_noise_is_seeded(tiny_run):
    from dtcli.analysis.common import load_data
    from dtcli.analysis.perturb import perturb
    from dtcli.engine.model import load_model

    m = load_model(tiny_run)
    x, y = load_data(m.problem, 12, 16, 0, torch.device("cpu"))
    none = perturb(m.net, m.problem, x, y, 12, 4, kind="noise", scale=0.0)
    assert none.perturbed == none.clean and none.summary()["iterations_to_recover"] == 0
    assert set(none.agreement) == {100.0} and max(none.distance) == 0.0
    a = perturb(m.net, m.problem, x, y, 12, 4, kind="noise", scale=3.0, seed=1, batch_size=5)
    b = perturb(m.net, m.problem, x, y, 12, 4, kind="noise", scale=3.0, seed=1, batch_size=5)
    assert a.perturbed == b.perturbed and a.distance[3] > 0.5


@pytest.mark.parametrize("kind", ["noise", "zero", "shuffle"])
def test_perturb_cli(cli, tiny_run, kind):
    result = cli("analyze", "perturb", tiny_run, "-d", "12", "--at", "3", "--iters", "12",
                 "--count", "10", "--kind", kind)
    assert result.exit_code == 0, result.output
    assert "perturbed" in result.output and "clean" in result.output
    doc = json_of(cli("analyze", "perturb", tiny_run, "-d", "12", "--at", "3", "--iters", "12",
                      "--count", "10", "--kind", kind, "--json"))
    assert doc["kind"] == kind and len(doc["perturbed"]) == 12 and "recovered_at" in doc["summary"]


# -- reuse -------------------------------------------------------------------------------------


def test_filter_counts_match_a_naive_computation(digits_pair):
    from dtcli.analysis.common import load_data
    from dtcli.analysis.reuse import filter_activity
    from dtcli.engine.model import load_model

    m = load_model(digits_pair[0])
    x, _ = load_data(m.problem, "standard", 20, 0, torch.device("cpu"))
    (layer,) = filter_activity(m.net, x, 3, batch_size=6)
    assert layer.name == "recur_block.0" and layer.counts.shape == (3, 8)
    conv = m.net.recur_block[0]
    with torch.no_grad():
        thought = m.net.start(x)
        for i in range(3):
            pre = conv(thought)
            assert layer.counts[i].tolist() == (pre > 0).sum((0, 2, 3)).double().tolist()
            thought = torch.relu(pre)


def test_reuse_cli(cli, digits_pair, tmp_path):
    plot = tmp_path / "reuse.png"
    result = cli("analyze", "reuse", digits_pair[0], "--count", "40", "--iters", "3",
                 "--plot", plot)
    assert result.exit_code == 0, result.output
    assert "filter reuse" in result.output and "untrained" in result.output
    assert plot.read_bytes()[:8] == PNG
    doc = json_of(cli("analyze", "reuse", digits_pair[0], "--count", "40", "--json"))
    assert doc["iters"] == 2 and doc["images"] == 40 and 0 <= doc["share"] <= 1
    assert 0 <= doc["control_share"] <= 1 and len(doc["layers"][0]["relative"]) == 2


# -- probes ------------------------------------------------------------------------------------


def test_ridge_probe_separates_separable_classes():
    from dtcli.analysis.probes import ridge_fit

    g = torch.Generator().manual_seed(0)
    labels = torch.arange(60) % 3
    feats = torch.nn.functional.one_hot(labels, 3).double() * 4 + torch.randn(60, 3, generator=g)
    predict = ridge_fit(torch.cat([feats, torch.randn(60, 20, generator=g)], 1), labels, 3)
    test = torch.cat([feats, torch.randn(60, 20, generator=g)], 1)
    assert float((predict(test) == labels).double().mean()) > 0.9


def test_probes_cli_side_by_side(cli, digits_pair, tmp_path):
    plot = tmp_path / "probes.pdf"
    rec, ff = digits_pair
    result = cli("analyze", "probes", rec, "--twin", ff, "--train-count", "200", "--count",
                 "100", "--plot", plot)
    assert result.exit_code == 0, result.output
    assert "linear probes" in result.output and "feed-forward" in result.output
    assert plot.read_bytes()[:5] == b"%PDF-"
    doc = json_of(cli("analyze", "probes", rec, "--twin", ff, "--train-count", "200",
                      "--count", "100", "--json"))
    first, second = doc["models"]
    assert first["recurrent"] and not second["recurrent"]
    assert [r["effective_depth"] for r in first["rows"]] == [3, 4, 5] == \
        [r["effective_depth"] for r in second["rows"]]
    assert all(0 <= r["test_acc"] <= 100 for r in first["rows"] + second["rows"])


def test_cka_cli(cli, digits_pair, tmp_path):
    plot = tmp_path / "cka.png"
    result = cli("analyze", "cka", *digits_pair, "--count", "40", "--plot", plot)
    assert result.exit_code == 0, result.output
    assert "linear CKA" in result.output and "same effective depth" in result.output
    assert plot.read_bytes()[:8] == PNG
    doc = json_of(cli("analyze", "cka", digits_pair[0], "--count", "40", "--iters-a", "3",
                      "--json"))
    assert len(doc["matrix"]) == 3 and all(abs(doc["matrix"][i][i] - 1) < 1e-9 for i in range(3))


def test_visualize_cli(cli, digits_pair, tmp_path):
    out = tmp_path / "pics"
    result = cli("analyze", "visualize", digits_pair[0], "--twin", digits_pair[1], "--filters",
                 "0:2", "--steps", "5", "--batch", "2", "--out", out, "--plot", tmp_path / "v.svg")
    assert result.exit_code == 0, result.output
    assert "best image" in result.output and "feed-forward" in result.output
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 2 and all(p.read_bytes()[:8] == PNG for p in pngs)
    ET.parse(tmp_path / "v.svg")
    doc = json_of(cli("analyze", "visualize", digits_pair[0], "--filters", "1,4", "--iters",
                      "2", "--steps", "3", "--batch", "2", "--out", out, "--json"))
    (model,) = doc["models"]
    assert model["filters"] == [1, 4] and model["iters"] == [1, 2]
    assert len(model["activation"]) == 2 and len(model["activation"][0]) == 2


# -- bad input ---------------------------------------------------------------------------------


def test_bad_inputs_give_one_clear_line(cli, digits_pair, tiny_run, tmp_path):
    rec, ff = digits_pair
    one_line_error(cli("analyze", "stability", ff, "--iters", "10"),
                   "feed-forward", "at most 2 iterations", quiet=True)
    one_line_error(cli("analyze", "probes", rec, "--twin", tmp_path / "nowhere"),
                   "--twin", "no model", quiet=True)
    one_line_error(cli("analyze", "probes", tiny_run), "image-classification", "prefix-sums",
                   quiet=True)
    one_line_error(cli("analyze", "visualize", tiny_run), "image-classification", quiet=True)
    one_line_error(cli("analyze", "reuse", ff), "feed-forward", "recurrent model", quiet=True)
    one_line_error(cli("analyze", "cka", rec, tiny_run), "different problems", quiet=True)
    one_line_error(cli("analyze", "perturb", tiny_run, "--at", "20", "--iters", "10"), "--at 20",
                   quiet=True)
    one_line_error(cli("analyze", "stability", tiny_run, "--plot", tmp_path / "f.jpg"),
                   ".png, .svg or .pdf", quiet=True)
    one_line_error(cli("analyze", "visualize", rec, "--filters", "99"), "out of range", quiet=True)
    one_line_error(cli("analyze", "visualize", rec, "--twin", ff, "--iters", "3"),
                   "--twin", "at most 2", quiet=True)


def test_study_analyze(cli, tmp_path):
    out = tmp_path / "study"
    result = cli("study", "depth", "images", "--family", "convnet", "--depths", "4", "--seeds",
                 "1", "--epochs", "1", "--width", "8", "--train-count", "100", "--test-count",
                 "30", "--batch-size", "50", "--out", out, "--analyze")
    assert result.exit_code == 0, result.output
    assert "linear probes" in result.output and "CKA" in result.output
    doc = json.loads((out / "analysis.json").read_text())
    (pair,) = doc["pairs"]
    assert pair["depth"] == 4 and len(pair["probes"]) == 2 and pair["cka"]["matrix"]


def test_visualize_uses_the_batch_norm_prior_on_a_bn_net(registry):
    from pathlib import Path
    from types import SimpleNamespace

    from dtcli.analysis.visualize import Settings, bn_penalty, visualize

    problem = registry.problem("images", {"dataset": "digits"})
    torch.manual_seed(0)
    net = registry.arch("recur-resnet-bn").build(problem, width=4, max_iters=2, depth=11).eval()
    loaded = SimpleNamespace(net=net, problem=problem, source=Path("bn.safetensors"))
    res = visualize(loaded, [1, 2], [0, 3], Settings(steps=3, batch=2))
    assert res.bn_prior and res.images.shape == (2, 2, 1, 8, 8)
    # the prior is small for a batch drawn with the running statistics, large far from them
    norm = net.bn1
    g = torch.Generator().manual_seed(0)
    near = torch.randn(2 * 50, 4, 3, 3, generator=g) * norm.running_var.sqrt().view(1, -1, 1, 1) \
        + norm.running_mean.view(1, -1, 1, 1)
    far = 3.0 * near + 5.0
    assert float(bn_penalty(norm, near, 2).max()) < 0.2 < 50.0 < float(bn_penalty(norm, far, 2).min())
