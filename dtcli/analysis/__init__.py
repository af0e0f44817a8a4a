"""What a thinking network does inside: one module per analysis (``dt analyze``).

``reuse`` (filter activity per iteration), ``probes`` (linear classifiers on each iteration's
features), ``cka`` (representational similarity), ``visualize`` (activation maximisation),
``stability`` (convergence, a Lipschitz estimate of ``think``, truncation), ``perturb`` (error
correction after a corrupted thought). Engine-level: results are dataclasses with ``to_dict``;
nothing here knows the CLI. ``figures`` draws them with matplotlib, imported only when asked.
"""
