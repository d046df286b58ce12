"""metasel: learn from many datasets which learner and hyperparameters to try first."""

from metasel.data import Dataset, load_dataset
from metasel.exceptions import MetaselError

__version__ = "0.1.0"

__all__ = ["Dataset", "MetaselError", "__version__", "load_dataset"]
