"""Built-in problem: image classification (CIFAR-10, SVHN, EMNIST, scikit-learn's digits)."""

from dtcli.api import hookimpl

from dt_images.problem import Images


@hookimpl
def register_problems(register):
    register(Images)
