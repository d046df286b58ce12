"""Turn a knowledge base into the meta-learning table: one row per dataset, one column per learner.

Every meta-learner and every evaluation reads the same :class:`MetaTable`, so what counts as
"a learner's score on a dataset" is decided once, here: the best successful configuration of
the learner at the largest training size recorded for that (dataset, learner) pair.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from metasel.exceptions import KnowledgeBaseError

#: Columns of the KB ``datasets`` table that describe a dataset but are not meta-features.
ID_COLUMNS = (
    "dataset_id", "name", "source", "source_id", "group", "task", "n_rows", "n_features",
    "n_classes", "openml_id",
)
METRICS_HIGHER_IS_BETTER = {"roc_auc": True, "accuracy": True, "balanced_accuracy": True,
                            "log_loss": False}
#: A dataset enters the table only when at least this share of the learners measured on its
#: source have a score.
MIN_LEARNER_COVERAGE = 0.9
#: ... and at least this share of its meta-features are known (LCDB lacks qualities for some).
MIN_FEATURE_COVERAGE = 0.5


class KnowledgeBaseLike(Protocol):
    """What the meta-model needs from a KB: the two tables of ``metasel.kb.KnowledgeBase``."""

    datasets: pd.DataFrame
    evaluations: pd.DataFrame


@dataclass(frozen=True)
class MetaTable:
    """Scores and meta-features of the datasets a meta-model learns from.

    ``scores`` is oriented so that higher is always better (log-loss is negated);
    ``best_configs`` holds, per (dataset_id, learner), the successful configurations
    ordered best first (``params`` dicts with their ``score``).
    """

    metric: str
    features: pd.DataFrame  # index dataset_id, float meta-features (NaN allowed)
    scores: pd.DataFrame  # index dataset_id, columns learners, NaN = not measured
    info: pd.DataFrame  # index dataset_id: name, source, group
    configs: pd.DataFrame  # dataset_id, learner, config_id, params, score, origin, fit_time

    @property
    def groups(self) -> np.ndarray:
        return self.info["group"].to_numpy()

    @property
    def learners(self) -> list[str]:
        return list(self.scores.columns)

    def subset(self, dataset_ids: pd.Index | list[str]) -> MetaTable:
        """The same table restricted to ``dataset_ids`` (used by every evaluation fold)."""
        ids = pd.Index(dataset_ids)
        return MetaTable(
            metric=self.metric,
            features=self.features.loc[ids],
            scores=self.scores.loc[ids],
            info=self.info.loc[ids],
            configs=self.configs[self.configs["dataset_id"].isin(ids)],
        )


def build_meta_table(
    kb: KnowledgeBaseLike,
    metric: str = "roc_auc",
    *,
    min_coverage: float = MIN_LEARNER_COVERAGE,
) -> MetaTable:
    """Collect per-dataset learner scores and meta-features from ``kb`` for ``metric``."""
    if metric not in METRICS_HIGHER_IS_BETTER:
        raise KnowledgeBaseError(
            f"The metric must be one of {sorted(METRICS_HIGHER_IS_BETTER)}; got {metric!r}. "
            "Pass one of the metrics the KB records."
        )
    ev = kb.evaluations
    missing = {"dataset_id", "learner", "train_size", "status", metric} - set(ev.columns)
    if missing:
        raise KnowledgeBaseError(
            f"The KB evaluations table must have columns {sorted(missing)}; they are missing. "
            "Rebuild or re-import the KB with the current metasel.kb schema."
        )
    ok = ev[(ev["status"] == "ok") & ev[metric].notna()]
    if ok.empty:
        raise KnowledgeBaseError(
            f"The KB has no successful evaluation with a {metric!r} score; the meta-model has "
            "nothing to learn from. Choose a metric the KB measured or build more evaluations."
        )
    sign = 1.0 if METRICS_HIGHER_IS_BETTER[metric] else -1.0
    largest = ok.groupby(["dataset_id", "learner"])["train_size"].transform("max")
    top = ok.loc[ok["train_size"] == largest].copy()
    top["score"] = sign * top[metric].astype(float)
    for column, fill in (("config_id", "default"), ("params", "{}"), ("origin", "default"),
                         ("fit_time", np.nan)):
        if column not in top.columns:
            top[column] = fill
    configs = (
        top.groupby(["dataset_id", "learner", "config_id"], as_index=False, sort=False)
        .agg(score=("score", "mean"), params=("params", "first"), origin=("origin", "first"),
             fit_time=("fit_time", "mean"))
        .sort_values(["dataset_id", "learner", "score"], ascending=[True, True, False])
        .reset_index(drop=True)
    )
    scores = configs.groupby(["dataset_id", "learner"])["score"].max().unstack("learner")
    datasets = kb.datasets.set_index("dataset_id")
    scores = scores.loc[scores.index.intersection(datasets.index)]
    # coverage against the learners measured on datasets of the same source: KB parts cover
    # different learner sets (LCDB has no lightgbm, our builds have no lcdb_* learners)
    source = (datasets.loc[scores.index, "source"] if "source" in datasets
              else pd.Series("", index=scores.index))
    measured = scores.notna()
    per_source = measured.groupby(source.to_numpy()).transform("any").sum(axis=1)
    coverage = measured.sum(axis=1) / per_source.clip(lower=1)
    scores = scores.loc[coverage >= min_coverage].sort_index()
    feature_cols = [c for c in datasets.columns if c not in ID_COLUMNS
                    and pd.api.types.is_numeric_dtype(datasets[c])]
    features = datasets.loc[scores.index, feature_cols].astype(float)
    # coverage over the meta-features most datasets have (KB parts may add their own extras)
    common = features.columns[features.notna().mean() >= 0.5]
    known = features[common].notna().mean(axis=1) >= MIN_FEATURE_COVERAGE
    scores, features = scores.loc[known], features.loc[known]
    ids = scores.index
    if len(ids) < 2:
        raise KnowledgeBaseError(
            f"The meta-model needs at least 2 datasets where >= {min_coverage:.0%} of the "
            f"learners have a {metric!r} score and >= {MIN_FEATURE_COVERAGE:.0%} of the "
            f"meta-features are known; the KB has {len(ids)}. Build more evaluations, or lower "
            "min_coverage (--min-coverage) for a KB that scores only some learners per dataset "
            "(remembered fits)."
        )
    info = pd.DataFrame({
        "name": datasets.loc[ids, "name"].astype(str) if "name" in datasets else ids.to_series(),
        "source": datasets.loc[ids, "source"].astype(str) if "source" in datasets else "",
        "group": datasets.loc[ids, "group"].astype(str) if "group" in datasets
        else ids.to_series(),
    }, index=ids)
    configs = configs[configs["dataset_id"].isin(ids)].reset_index(drop=True)
    return MetaTable(metric=metric, features=features, scores=scores, info=info, configs=configs)


def parse_params(params: Any) -> dict[str, Any]:
    """A configuration's parameters as a dict, whether the KB stored JSON text or a dict."""
    if isinstance(params, dict):
        return params
    if isinstance(params, str) and params:
        loaded = json.loads(params)
        return loaded.get("params", loaded) if isinstance(loaded, dict) else {}
    return {}
