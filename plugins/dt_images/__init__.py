"""Built-in problem: image classification (CIFAR-10, SVHN, EMNIST, scikit-learn's digits)."""

from dt_images.problem import Images
from dtcli.api import hookimpl


@hookimpl
def register_problems(register):
    register(Images)
