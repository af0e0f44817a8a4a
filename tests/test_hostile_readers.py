"""Damaged run files (issue 31, item 7): one bad file is a row state in ``dt runs``, never a
failed listing, and ``dt compare`` names the damaged file in one line. A property test damages
config.json, metrics.jsonl, extrapolation.json and TOML settings files at random (truncation,
byte flips, values of the wrong JSON type): the readers raise nothing but DtError."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dtcli import runs
from dtcli.config import read_config_file, rules
from dtcli.contracts.errors import DtError
from helpers import one_line_error


@pytest.fixture
def two_runs(tmp_path, tiny_run):
    root = tmp_path / "runs"
    for name in ("good", "bad"):
        shutil.copytree(tiny_run, root / name)
    return root


@pytest.mark.parametrize("line, where", [
    ('{"val_acc": "x", "epoch": 3, "train_acc": 1.0}', "line 3"),
    ("[1, 2]", "line 3"),
    ('{"epoch": 3, "train_acc": 1e400}', "line 3"),
    ('{"epoch": 3', "line 3"),
])
def test_one_damaged_metrics_file_is_a_row_state(two_runs, cli, line, where):
    path = two_runs / "bad" / runs.METRICS
    path.write_text(path.read_text() + line + "\n")
    result = cli("runs", two_runs, "--json")
    assert result.exit_code == 0, result.output
    rows = {r["run"].rsplit("/", 1)[-1]: r for r in json.loads(result.stdout)}
    assert rows["good"]["status"] == "finished" and rows["good"]["best_val"] is not None
    assert rows["bad"]["status"] == "damaged"
    assert rows["bad"]["damaged"] == f"damaged: metrics.jsonl {where}"
    assert rows["bad"]["problem"] == "prefix-sums"  # its settings are still shown
    table = cli("runs", two_runs)
    text = " ".join(table.stdout.split())  # the state column wraps on a narrow terminal
    assert table.exit_code == 0 and "damaged:" in text and f"metrics.jsonl is damaged ({where}:" in text
    assert "finished" in table.stdout and "Traceback" not in table.output
    assert cli("runs", two_runs, "--status", "damaged", "--json").stdout.count('"damaged"') == 2


def test_damaged_extrapolation_and_config_are_row_states(two_runs, cli):
    (two_runs / "bad" / runs.EXTRAPOLATION).write_text('{"results": {"8": {"iters": [1]}}}')
    (two_runs / "good" / runs.CONFIG).write_text('{"train": 5}')
    rows = {r["run"].rsplit("/", 1)[-1]: r for r in json.loads(cli("runs", two_runs, "--json").stdout)}
    assert rows["bad"]["damaged"] == "damaged: extrapolation.json results.8"
    assert rows["good"]["damaged"] == "damaged: config.json"


@pytest.mark.parametrize("name, cut", [(runs.METRICS, 50), (runs.EXTRAPOLATION, 300),
                                       (runs.EXTRAPOLATION, None)])
def test_compare_names_a_damaged_file_in_one_line(two_runs, cli, name, cut):
    path = two_runs / "bad" / name
    if cut is None:  # valid JSON, a curve missing: once a KeyError
        doc = json.loads(path.read_text())
        for res in doc["results"].values():
            del res["fixed"]
        path.write_text(json.dumps(doc))
    else:
        path.write_bytes(path.read_bytes()[:cut])
    one_line_error(cli("compare", two_runs / "good", two_runs / "bad"), str(path), "damaged")


def test_a_fifo_among_run_files_does_not_hang_the_listing(two_runs, cli, deadline):
    (two_runs / "bad" / runs.METRICS).unlink()
    os.mkfifo(two_runs / "bad" / runs.METRICS)
    with deadline(20):
        listed = cli("runs", two_runs, "--json")
    rows = {r["run"].rsplit("/", 1)[-1]: r for r in json.loads(listed.stdout)}
    assert rows["bad"]["damaged"] == "damaged: metrics.jsonl" and "not a regular file" in rows["bad"]["error"]


# -- random damage ---------------------------------------------------------------------------

FILES = (runs.CONFIG, runs.METRICS, runs.EXTRAPOLATION, "settings.toml")
JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                        st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5),
                        st.lists(st.integers(-3, 3), max_size=3),
                        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def _paths(obj, prefix=()):
    """Every place in a JSON document a value can be replaced."""
    yield prefix
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        yield from _paths(value, (*prefix, key))


DELETE = object()  # the value is left out: a field missing


def _replace(obj, path, value):
    if not path:
        return None if value is DELETE else value
    if len(path) == 1 and value is DELETE and isinstance(obj, dict):
        del obj[path[0]]
        return obj
    obj[path[0]] = _replace(obj[path[0]], path[1:], None if value is DELETE else value)
    return obj


def _retype(data, text: str) -> str:
    """``text`` (JSON, or JSON lines) with one value swapped for one of another type, or
    left out."""
    lines = text.splitlines() if text.lstrip().startswith("{\"epoch") else [text]
    n = data.draw(st.integers(0, len(lines) - 1))
    doc = json.loads(lines[n])
    where = data.draw(st.sampled_from(list(_paths(doc))))
    value = data.draw(st.one_of(JSON_VALUES, st.just(DELETE)))
    lines[n] = json.dumps(_replace(doc, list(where), value))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, tiny_run):
    """The tiny run's files and its settings as TOML, read once."""
    from dtcli.config import TrainConfig, write_config_file

    folder = tmp_path_factory.mktemp("pristine")
    files = {name: (Path(tiny_run) / name).read_bytes() for name in FILES[:3]}
    cfg = TrainConfig.from_dict(json.loads(files[runs.CONFIG])["train"])
    write_config_file(folder / "settings.toml", cfg)
    files["settings.toml"] = (folder / "settings.toml").read_bytes()
    return files


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_damage_to_run_files_is_only_ever_a_dt_error(pristine, cli, data):
    name = data.draw(st.sampled_from(FILES), label="file")
    raw = pristine[name]
    how = data.draw(st.sampled_from(("truncate", "flip", "retype", "retype")), label="damage")
    if how == "truncate":
        raw = raw[:data.draw(st.integers(0, len(raw) - 1))]
    elif how == "flip":
        for _ in range(data.draw(st.integers(1, 4))):
            i = data.draw(st.integers(0, len(raw) - 1))
            raw = raw[:i] + bytes([data.draw(st.integers(0, 255))]) + raw[i + 1:]
    elif name != "settings.toml":
        raw = _retype(data, raw.decode()).encode()
    else:
        key = data.draw(st.sampled_from(sorted(rules())))
        value = data.draw(st.sampled_from(['"x"', "-1", "1e999", "nan", "true", "[1, 2]", "{a = 1}",
                                           "[[[1]]]", '"none"', "0", "2.5"]))
        raw = b"\n".join(ln for ln in raw.splitlines() if not ln.startswith(key.encode() + b" "))
        raw += f"\n{key} = {value}\n".encode()
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "runs" / "run"
        run.mkdir(parents=True)
        for other in FILES[:3]:
            (run / other).write_bytes(raw if other == name else pristine[other])
        if name == "settings.toml":
            (run / name).write_bytes(raw)
            try:
                read_config_file(run / name)
            except DtError:
                pass
            return
        for reader in (runs.read_run_config, runs.read_metrics, runs.read_extrapolation):
            try:
                reader(run)
            except DtError:
                pass
        row = runs.summarize(run)  # never raises: a damaged file is the row's state
        assert row["status"] != "damaged" or row["damaged"].startswith("damaged: ")
        listed = cli("runs", run.parent, "--json")
        assert listed.exit_code == 0, listed.output
        assert json.loads(listed.stdout)[0]["status"] == row["status"]
