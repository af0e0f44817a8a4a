"""Every built-in problem and architecture passes the plugin conformance kit."""

from __future__ import annotations

import pytest

from dtcli.api import Problem
from dtcli.plugins import get_registry
from dtcli.testing import check_architecture, check_problem

REG = get_registry()


@pytest.mark.parametrize("name", sorted(REG.problems))
def test_builtin_problems_conform(name):
    cls = REG.problems[name]
    arch = next(a for a in REG.archs.values() if a.supports(cls()) is None).name
    check_problem(cls, arch=arch)


@pytest.mark.parametrize("name", sorted(REG.archs))
def test_builtin_architectures_conform(name):
    check_architecture(REG.archs[name])


def test_kit_names_a_missing_method():
    class NoRender(Problem):
        name = "no-render"
        summary = "generates but cannot draw itself"
        default_train_difficulty = default_test_difficulty = "4"

        def generate(self, difficulty, count, seed):
            import torch

            g = torch.Generator().manual_seed(seed)
            x = torch.randint(0, 2, (count, 1, difficulty), generator=g).float()
            return x, x[:, 0].long()

    with pytest.raises(AssertionError, match=r"does not implement the required method render\(\)"):
        check_problem(NoRender)


def test_kit_catches_a_nondeterministic_generator():
    import torch

    from dt_prefix_sums.problem import PrefixSums

    class Noisy(PrefixSums):
        name = "noisy"

        def dataset(self, split, difficulty, count, seed):
            return torch.rand(count, 1, difficulty), torch.zeros(count, difficulty, dtype=torch.long)

    with pytest.raises(AssertionError, match="not deterministic"):
        check_problem(Noisy)
