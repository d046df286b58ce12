"""Meta-models trained on a knowledge base: which learner and configurations to try first.

``MetaModel.fit(kb, metric)`` learns the ranker and warm-start proposals (``MetaModel.default()``
loads the shipped one); ``metasel.recommend`` turns it into user-facing recommendations;
``evaluate_lodo(kb, metric)`` measures every method under leave-one-group-out;
``combine_prior_with_probes`` merges the prior with cheap learning-curve probes.
"""

from metasel.meta._evaluation import LodoResult, default_methods, evaluate_lodo, logo_folds
from metasel.meta._forest import ForestRanker
from metasel.meta._model import MetaModel, kb_fingerprint
from metasel.meta._probes import combine_prior_with_probes, combine_utilities
from metasel.meta._rankers import AverageRank, BlendRanker, KNNRanker, LGBMRanker, SingleBest
from metasel.meta._report import result_tables
from metasel.meta._scaling import FeatureScaler
from metasel.meta._table import MetaTable, build_meta_table
from metasel.meta._warmstart import WarmStarter, greedy_portfolio

__all__ = [
    "AverageRank",
    "BlendRanker",
    "FeatureScaler",
    "ForestRanker",
    "KNNRanker",
    "LGBMRanker",
    "LodoResult",
    "MetaModel",
    "MetaTable",
    "SingleBest",
    "WarmStarter",
    "build_meta_table",
    "combine_prior_with_probes",
    "combine_utilities",
    "default_methods",
    "evaluate_lodo",
    "greedy_portfolio",
    "kb_fingerprint",
    "logo_folds",
    "result_tables",
]
