"""metasel: learn from many datasets which learner and hyperparameters to try first."""

from metasel.data import Dataset, load_dataset
from metasel.estimator import MetaSelClassifier
from metasel.exceptions import MetaselError
from metasel.kb import KnowledgeBase
from metasel.metafeatures import extract_metafeatures
from metasel.recommend import recommend

__version__ = "0.1.0"

__all__ = [
    "Dataset",
    "KnowledgeBase",
    "MetaSelClassifier",
    "MetaselError",
    "__version__",
    "extract_metafeatures",
    "load_dataset",
    "recommend",
]
