"""Built-in problem: prefix sums (running parity of a bit string)."""

from dt_prefix_sums.problem import PrefixSums
from dtcli.api import hookimpl


@hookimpl
def register_problems(register):
    register(PrefixSums)
