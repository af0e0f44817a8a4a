"""Built-in problem: prefix sums (running parity of a bit string)."""

from dtcli.api import hookimpl

from dt_prefix_sums.problem import PrefixSums


@hookimpl
def register_problems(register):
    register(PrefixSums)
