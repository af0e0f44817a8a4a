"""Prefix sums data: running parity, uniqueness, determinism, cache, rendering."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from dt_prefix_sums.generate import running_parity, unique_bit_strings
from dtcli.contracts.errors import DtError


@settings(max_examples=40, deadline=None)
@given(bits=st.integers(1, 80), count=st.integers(1, 60), seed=st.integers(0, 2**31))
def test_unique_strings_and_running_parity(bits, count, seed):
    count = min(count, 2**bits)
    strings = unique_bit_strings(bits, count, seed)
    assert strings.shape == (count, bits)
    assert len({s.tobytes() for s in strings}) == count
    parity = running_parity(strings)
    for s, p in zip(strings[:5], parity[:5]):
        assert list(p) == [sum(s[: i + 1]) % 2 for i in range(bits)]


def test_too_many_strings_for_the_length():
    with pytest.raises(ValueError, match="only 8 distinct"):
        unique_bit_strings(3, 9, 0)


def test_dataset_deterministic_cached_and_split_streams(registry):
    p = registry.problem("prefix-sums")
    x1, y1 = p.dataset("train", 16, 50, seed=3)
    x2, y2 = p.dataset("train", 16, 50, seed=3)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert x1.shape == (50, 1, 16) and y1.dtype == torch.int64
    xt, _ = p.dataset("test", 16, 50, seed=3)
    assert not torch.equal(x1, xt)
    assert torch.equal(y1, torch.from_numpy(running_parity(x1[:, 0].numpy().astype(np.int64))))
    from dtcli.contracts.datacache import list_entries

    assert len(list_entries("prefix-sums")) == 2


def test_damaged_cache_entry_is_regenerated(registry):
    from dtcli.contracts.datacache import cache_path

    p = registry.problem("prefix-sums")
    x1, _ = p.dataset("train", 12, 20, seed=0)
    path = cache_path(p.name, p.data_fields("train", 12, 20, 0))
    path.write_bytes(b"garbage")
    x2, _ = p.dataset("train", 12, 20, seed=0)
    assert torch.equal(x1, x2)


def test_render_and_parse_instance(registry):
    p = registry.problem("prefix-sums")
    x = p.parse_instance("0110 1")
    assert x.shape == (1, 5)
    target = p.target_for(x)
    assert target.tolist() == [0, 1, 0, 0, 1]
    wrong = target.clone()
    wrong[2] = 1
    console = Console(record=True, width=100)
    console.print(p.render(x, wrong, target, torch.full((5,), 0.9)))
    text = console.export_text()
    assert "pred 01101" in text and "true 01001" in text and "in   01101" in text
    with pytest.raises(DtError, match="0s and 1s"):
        p.parse_instance("01a")


def test_difficulty_validation(registry):
    p = registry.problem("prefix-sums")
    assert p.parse_difficulty("32") == 32
    for bad in ("0", "-4", "many"):
        with pytest.raises(DtError):
            p.parse_difficulty(bad)


def test_render_fits_a_narrow_pane():
    """In the TUI's 42-column instance pane at 80x24, rows of 32 bits, none cut."""
    import torch
    from rich.console import Console

    from dt_prefix_sums.problem import PrefixSums

    x = torch.tensor([1, 0, 1, 1] * 16).float().unsqueeze(0)
    y = torch.tensor([1, 1, 0, 1] * 16)
    console = Console(width=42, color_system=None, record=True)
    console.print(PrefixSums().render(x, y, y, fit=(42, 10)))
    lines = console.export_text().splitlines()
    assert max(map(len, lines)) <= 42 and "bits 33-64" in lines
    assert sum(line.startswith("in ") for line in lines) == 2
