"""The model zoo: pretrained models shipped inside the package, each with a card.

``models_zoo/`` (installed as the package ``dtcli.models_zoo``) holds ``index.json`` and, per
model, ``NAME.safetensors`` and ``NAME.json`` (the card: how it was trained, the sha256 of its
weights, and an extrapolation table a user can re-measure with ``dt zoo test``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

from dtcli.errors import DtError
from dtcli.paths import atomic_write, atomic_write_json

ZOO_ENV = "DT_ZOO_DIR"
INDEX = "index.json"
DEFAULT_MODEL = "mazes-dt-recall"


def zoo_dir() -> Path:
    """Where the zoo lives: ``$DT_ZOO_DIR`` (maintainers, tests) or the installed package."""
    if os.environ.get(ZOO_ENV):
        return Path(os.environ[ZOO_ENV]).expanduser()
    try:
        return Path(str(resources.files("dtcli.models_zoo")))
    except ModuleNotFoundError:
        # dtcli imported from a source checkout (e.g. `python -m pytest` in the repository):
        # the zoo package is mapped from the top-level models_zoo/ only in an installed wheel.
        return Path(__file__).resolve().parent.parent / "models_zoo"


def index() -> dict[str, dict[str, Any]]:
    path = zoo_dir() / INDEX
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8")).get("models", {})


def is_zoo_name(ref: str | Path) -> bool:
    text = str(ref)
    return "/" not in text and text in index()


def card(name: str) -> dict[str, Any]:
    models = index()
    if name not in models:
        from dtcli.plugins import did_you_mean

        raise DtError(f"no zoo model {name!r}{did_you_mean(name, list(models))}; `dt zoo list` shows them")
    path = zoo_dir() / f"{name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DtError(f"zoo card {path} is unreadable ({exc})") from None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def weights(name: str, doc: dict[str, Any] | None = None) -> Path:
    """The verified weights file of zoo model ``name`` (sha256 checked against its card)."""
    doc = doc or card(name)
    path = zoo_dir() / f"{name}.safetensors"
    if not path.exists():
        raise DtError(f"zoo model {name!r} has no weights file {path.name}")
    actual = sha256_of(path)
    if actual != doc["sha256"]:
        raise DtError(f"zoo model {name!r}: sha256 of {path.name} is {actual[:16]}..., "
                      f"its card says {doc['sha256'][:16]}...; the file is damaged, reinstall dt")
    return path


def add(run_dir: Path, name: str, *, card_fields: dict[str, Any]) -> Path:
    """Copy a run's best weights into the zoo under ``name`` and write its card and index entry."""
    from dtcli import runs

    run_dir = Path(run_dir)
    doc = runs.read_run_config(run_dir)
    src = run_dir / runs.BEST
    if not src.exists():
        raise DtError(f"{run_dir} has no {runs.BEST} to add")
    root = zoo_dir()
    dest = root / f"{name}.safetensors"
    atomic_write(dest, lambda tmp: shutil.copyfile(src, tmp))
    full = {"name": name, "problem": doc["train"]["problem"], "arch": doc["train"]["arch"],
            "problem_options": doc["train"]["problem_options"], "train": doc["train"],
            "model": doc["model"], "sha256": sha256_of(dest), **card_fields}
    atomic_write_json(root / f"{name}.json", full)
    rebuild_index(root)
    return dest


def rebuild_index(root: Path) -> None:
    """Write the index from the cards present, so two maintainers adding at once lose nothing."""
    models = {}
    for path in sorted(root.glob("*.json")):
        if path.name == INDEX:
            continue
        doc = json.loads(path.read_text(encoding="utf-8"))
        models[doc["name"]] = {"problem": doc["problem"], "arch": doc["arch"],
                               "summary": doc.get("summary", ""),
                               "parameters": doc["model"]["parameters"]}
    atomic_write_json(root / INDEX, {"models": models})


def measure(loaded, difficulty: Any, iters: list[int], count: int, seed: int, mode: str = "fixed",
            *, curve: int = 0, on_batch=None) -> dict[str, Any]:
    """Accuracy of a loaded model at ``iters`` on ``count`` fresh test instances and, with
    ``curve``, at every iteration up to ``curve`` in the same pass (scoring an iteration costs
    little next to computing it, so the curve comes with the table for free).

    Iterations beyond a feed-forward net's depth are left out: it cannot think longer.
    """
    from dtcli.engine.extrapolate import extrapolate

    limit = loaded.net.max_depth
    iters = [i for i in iters if limit is None or i <= limit]
    curve = min(curve, limit) if limit is not None else curve
    wanted = sorted(set(iters) | set(range(1, curve + 1)))
    x, y = loaded.problem.dataset("test", difficulty, count, seed)
    res = extrapolate(loaded.net, loaded.problem, x, y, wanted, modes=(mode,),
                      on_batch=on_batch, difficulty=difficulty)
    acc = dict(zip(res.iters, res.accuracy(mode)))
    out = {"difficulty": difficulty, "count": count, "iters": iters,
           "accuracy": [round(acc[i], 2) for i in iters]}
    if curve:
        out["curve"] = {"count": count, "iters": list(range(1, curve + 1)),
                        "accuracy": [round(acc[i], 2) for i in range(1, curve + 1)]}
    return out


#: standard errors a re-measured figure may differ by (about 3 in 1,000 figures fail by chance)
Z = 3.0


def _anscombe(pct: float, n: int) -> float:
    """The variance-stabilising transform of a binomial count (variance ~ 1/(4n + 2) whatever
    the accuracy, also near 0% and 100%, where the normal approximation fails)."""
    correct = pct / 100.0 * n
    return math.asin(math.sqrt((correct + 0.375) / (n + 0.75)))


def _spread(card_count: int, measured_count: int) -> float:
    return Z * math.sqrt(1 / (4 * card_count + 2) + 1 / (4 * measured_count + 2))


def agrees(card_pct: float, card_count: int, measured_pct: float, measured_count: int) -> bool:
    """Whether an accuracy re-measured on ``measured_count`` fresh instances is consistent
    with the card's on ``card_count``: within Z standard errors of a two-sample test on the
    binomial counts (Anscombe's arcsine transform)."""
    n1, n2 = max(card_count, 1), max(measured_count, 1)
    return abs(_anscombe(card_pct, n1) - _anscombe(measured_pct, n2)) <= _spread(n1, n2)


def allowed_range(card_pct: float, card_count: int, measured_count: int) -> tuple[float, float]:
    """The measured accuracies (%) :func:`agrees` accepts for a card's figure."""
    n1, n2 = max(card_count, 1), max(measured_count, 1)
    centre, spread = _anscombe(card_pct, n1), _spread(n1, n2)

    def back(angle: float) -> float:
        angle = min(max(angle, 0.0), math.pi / 2)
        return min(100.0, max(0.0, 100.0 * (math.sin(angle) ** 2 * (n2 + 0.75) - 0.375) / n2))

    return back(centre - spread), back(centre + spread)


def claims(ext: dict[str, Any]) -> list[dict[str, Any]]:
    """Every figure a card states, as ``{difficulty, count, iters, accuracy, kind}`` rows: its
    table rows, and for each curve its accuracy at the table's iterations and at its best."""
    table_iters = sorted({i for row in ext["results"] for i in row["iters"]})
    out = []
    for row in ext["results"]:
        n = row.get("count", ext["count"])
        if row["iters"]:
            out.append({"difficulty": row["difficulty"], "count": n, "iters": list(row["iters"]),
                        "accuracy": list(row["accuracy"]), "kind": "table"})
        curve = row.get("curve")
        if curve and not row["iters"]:
            acc = dict(zip(curve["iters"], curve["accuracy"]))
            best = max(curve["iters"], key=lambda i: (acc[i], -i))
            iters = sorted({i for i in table_iters if i in acc} | {best})
            out.append({"difficulty": row["difficulty"], "count": curve.get("count", n),
                        "iters": iters, "accuracy": [acc[i] for i in iters], "kind": "curve"})
    return out
