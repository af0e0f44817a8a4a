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
import re
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

from dtcli.contracts.errors import DtError
from dtcli.contracts.paths import atomic_write, atomic_write_json

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


#: what a zoo name may look like: it is a file name inside the zoo, never a path
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else type(exc).__name__
        raise DtError(f"{what} {path} is damaged ({reason}); reinstall dt") from None


def index() -> dict[str, dict[str, Any]]:
    """The zoo's models by name (only well-formed names: a name never leaves the zoo)."""
    path = zoo_dir() / INDEX
    if not path.exists():
        return {}
    doc = _read_json(path, "zoo index")
    models = doc.get("models") if isinstance(doc, dict) else None
    if not isinstance(models, dict):
        raise DtError(f"zoo index {path} is damaged (no table of models); reinstall dt")
    bad = [n for n, m in models.items() if not NAME.match(str(n)) or not isinstance(m, dict)]
    if bad:
        raise DtError(f"zoo index {path} is damaged (entry {str(bad[0])[:40]!r}); reinstall dt")
    return models


def is_zoo_name(ref: str | Path) -> bool:
    text = str(ref)
    return bool(NAME.match(text)) and text in index()


def card(name: str) -> dict[str, Any]:
    """A model's card, every field dt reads checked (one line naming the card and the field)."""
    models = index() if NAME.match(str(name)) else {}
    if name not in models:
        from dtcli.plugins import did_you_mean

        raise DtError(f"no zoo model {name!r}{did_you_mean(str(name), list(models))}; "
                      "`dt zoo list` shows them")
    path = zoo_dir() / f"{name}.json"
    doc = _read_json(path, "zoo card")
    _check_card(doc, f"zoo card {path}: ")
    return doc


def _check_card(doc: Any, where: str) -> None:
    from dtcli.config import TrainConfig

    def need(ok: bool, field: str) -> None:
        if not ok:
            raise DtError(f"{where}{field} is missing or damaged; reinstall dt")

    need(isinstance(doc, dict), "the card")
    need(isinstance(doc.get("sha256"), str) and re.fullmatch(r"[0-9a-f]{64}", doc["sha256"])
         is not None, "sha256")
    for key in ("problem", "arch"):
        need(isinstance(doc.get(key), str), key)
    need(isinstance(doc.get("problem_options", {}), dict), "problem_options")
    model = doc.get("model")
    need(isinstance(model, dict) and isinstance(model.get("build", {}), dict)
         and isinstance(model.get("parameters"), int), "model")
    TrainConfig.from_dict(doc.get("train"), where)
    ext = doc.get("extrapolation")
    if ext is None:  # a card may hold only the model (its table is what zoo show/test read)
        return
    need(isinstance(ext, dict) and isinstance(ext.get("seed"), int)
         and isinstance(ext.get("count"), int) and ext.get("mode") in ("fixed", "max-conf")
         and isinstance(ext.get("results"), list), "extrapolation")
    for row in ext["results"]:
        need(isinstance(row, dict) and isinstance(row.get("iters"), list)
             and isinstance(row.get("accuracy"), list)
             and len(row["iters"]) == len(row["accuracy"])
             and all(isinstance(i, int) and i > 0 for i in row["iters"])
             and all(isinstance(a, (int, float)) and 0 <= a <= 100 for a in row["accuracy"])
             and isinstance(row.get("count", ext["count"]), int)
             and row.get("count", ext["count"]) > 0, "extrapolation.results")
        n_iters = len(row["iters"])
        if "verified" in row:
            need(isinstance(row["verified"], list) and len(row["verified"]) == n_iters,
                 "extrapolation.results.verified")
        for band in row.get("bands", []):
            need(isinstance(band, dict) and isinstance(band.get("label"), str)
                 and isinstance(band.get("count"), int)
                 and all(len(band.get(key, [])) == n_iters for key in ("accuracy",)),
                 "extrapolation.results.bands")
        curve = row.get("curve")
        if curve is not None:
            need(isinstance(curve, dict) and isinstance(curve.get("iters"), list)
                 and isinstance(curve.get("accuracy"), list)
                 and len(curve["iters"]) == len(curve["accuracy"]) > 0, "a curve")


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
    """Every figure a card states, as ``{difficulty, count, iters, accuracy, kind, row, metric,
    band}`` rows: its table rows (with their verified figures and rating bands, when the card
    has them), and for each curve its accuracy at the table's iterations and at its best.
    ``row`` is the index of the card's result the claim comes from."""
    table_iters = sorted({i for row in ext["results"] for i in row["iters"]})
    out = []
    for k, row in enumerate(ext["results"]):
        n = row.get("count", ext["count"])
        base = {"difficulty": row["difficulty"], "row": k, "band": None, "metric": "fixed"}
        if row["iters"]:
            out.append({**base, "count": n, "iters": list(row["iters"]),
                        "accuracy": list(row["accuracy"]), "kind": "table"})
            if "verified" in row:
                out.append({**base, "count": n, "iters": list(row["iters"]),
                            "accuracy": list(row["verified"]), "kind": "table",
                            "metric": "verified"})
            for band in row.get("bands", []):
                for metric, key in (("fixed", "accuracy"), ("verified", "verified")):
                    if key in band:
                        out.append({**base, "count": band["count"], "iters": list(row["iters"]),
                                    "accuracy": list(band[key]), "kind": "band",
                                    "band": band["label"], "metric": metric})
        curve = row.get("curve")
        if curve and not row["iters"]:
            acc = dict(zip(curve["iters"], curve["accuracy"]))
            best = max(curve["iters"], key=lambda i: (acc[i], -i))
            iters = sorted({i for i in table_iters if i in acc} | {best})
            out.append({**base, "count": curve.get("count", n), "iters": iters,
                        "accuracy": [acc[i] for i in iters], "kind": "curve"})
    return out


# -- writing (maintainers: `dt zoo add`) ------------------------------------------------------


#: names a model cannot take: the zoo's own files
RESERVED = frozenset({Path(INDEX).stem})


def check_new_name(name: str, replace: bool = False) -> None:
    """Refuse a name ``add`` must not write (one line): a malformed or reserved name, or one
    the zoo already holds (its card, its weights or its index entry; compared without case,
    as a case-insensitive disk would) unless ``replace`` names that very model."""
    if not NAME.match(name):
        raise DtError(f"zoo name {name!r} may only hold letters, digits, '-' and '_'")
    if name.lower() in RESERVED:
        raise DtError(f"zoo name {name!r} is reserved (the zoo's own {name.lower()} file); "
                      "choose another --name")
    root = zoo_dir()
    try:
        held = set(index())
    except DtError:  # a damaged index: add rebuilds it from the cards
        held = set()
    if root.is_dir():
        held |= {p.name.rsplit(".", 1)[0] for p in root.iterdir()
                 if p.suffix in (".json", ".safetensors") and p.name != INDEX}
    clash = sorted(h for h in held if h.lower() == name.lower())
    if not clash:
        return
    if not replace:
        raise DtError(f"the zoo already holds a model named {clash[0]!r}; choose another --name, "
                      "or give --replace to overwrite its card and weights")
    if clash != [name]:
        raise DtError(f"--name {name!r} differs only in case from the zoo's {clash[0]!r}; "
                      f"use --name {clash[0]} to replace it")


def add(run_dir: Path, name: str, *, card_fields: dict[str, Any], replace: bool = False,
        problem_options: dict[str, Any] | None = None) -> Path:
    """(Maintainers) copy a run's best weights into the zoo under ``name`` and write its card
    and index entry. An existing model of that name is refused unless ``replace``.

    ``problem_options`` (default: the run's) are the options the card was measured with and
    that loading the model gives its problem (e.g. a chess run trained on a local file, its
    card measured on the puzzles dt ships); the card's ``train`` keeps what training used."""
    from dtcli import runs

    check_new_name(name, replace)
    run_dir = Path(run_dir)
    doc = runs.read_run_config(run_dir)
    src = run_dir / runs.BEST
    if not src.exists():
        raise DtError(f"{run_dir} has no {runs.BEST} to add")
    root = zoo_dir()
    dest = root / f"{name}.safetensors"
    atomic_write(dest, lambda tmp: shutil.copyfile(src, tmp))
    full = {"name": name, "problem": doc["train"]["problem"], "arch": doc["train"]["arch"],
            "problem_options": problem_options or doc["train"]["problem_options"],
            "train": doc["train"],
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
        doc = _read_json(path, "zoo card")
        try:
            models[doc["name"]] = {"problem": doc["problem"], "arch": doc["arch"],
                                   "summary": doc.get("summary", ""),
                                   "parameters": doc["model"]["parameters"]}
        except (KeyError, TypeError):
            raise DtError(f"zoo card {path} is damaged (not a card dt wrote); restore or "
                          "remove it, then add again") from None
    atomic_write_json(root / INDEX, {"models": models})
