"""The trained meta-model: ranks learners for a dataset's meta-features and explains why.

The ranking comes from a multi-output extra-trees regression of the clipped score difference
of every pair of learners (a learner's utility is its mean predicted margin), optionally
blended with the k-nearest-datasets ranker; this won the leave-one-group-out comparison
(benchmarks/results/meta_lodo.md). The expected score is the nearest datasets' mean
learner score plus the ranker's predicted margin over the mean learner (so it agrees with
the ranking), its interval the spread of the learner's scores on the nearest datasets where
it was measured, and warm-start configurations come from their best configurations and a
greedy portfolio.
Saving/loading lives in :mod:`metasel.meta._store`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metasel.exceptions import MetaselError
from metasel.meta._forest import ForestRanker
from metasel.meta._rankers import KNNRanker
from metasel.meta._scaling import FeatureScaler
from metasel.meta._table import (
    METRICS_HIGHER_IS_BETTER,
    KnowledgeBaseLike,
    MetaTable,
    build_meta_table,
)
from metasel.meta._warmstart import WarmStarter

DEFAULT_K = 10
#: Weight of the k-nearest-datasets utility against the forest's (weight 1).
KNN_WEIGHT = 0.0
#: The interval is the weighted 10th-90th percentile of the neighbours' scores.
INTERVAL_QUANTILES = (0.1, 0.9)
#: nearest training datasets whose recorded configurations are proposed as warm starts
CONFIG_NEIGHBOURS = 25


def kb_fingerprint(table: MetaTable) -> str:
    """A short stable hash of what the meta-model learned from (ids, learners, scores)."""
    scores = table.scores.round(6)
    payload = pd.util.hash_pandas_object(scores.reset_index(), index=False).to_numpy()
    digest = hashlib.sha256(payload.tobytes())
    digest.update(json.dumps([table.metric, list(scores.columns),
                              list(table.features.columns)]).encode())
    return digest.hexdigest()[:16]


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """Weighted quantiles along the last axis of (rows x items) arrays; NaN values ignored."""
    weights = np.where(np.isnan(values), 0.0, weights)
    order = np.argsort(np.where(np.isnan(values), np.inf, values), axis=-1)
    v = np.take_along_axis(values, order, -1)
    w = np.take_along_axis(weights, order, -1)
    cum = np.cumsum(w, -1)
    total = cum[..., -1:]
    out = []
    for q in qs:
        idx = (cum < q * total).sum(-1, keepdims=True)
        idx = np.minimum(idx, v.shape[-1] - 1)
        out.append(np.take_along_axis(v, idx, -1)[..., 0])
    return np.stack(out, -1)


def measured_neighbours(train_X: np.ndarray, train_S: np.ndarray, x: np.ndarray,
                        k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per learner, the scores on the ``k`` datasets nearest to ``x`` *where that learner was
    measured* (KB parts cover different learners), and their inverse-distance weights;
    both (learners x k)."""
    dist = np.sqrt(((train_X - x) ** 2).sum(axis=1))
    measured = ~np.isnan(train_S)
    k = min(k, len(dist))
    order = np.argsort(np.where(measured, dist[:, None], np.inf), axis=0, kind="stable")[:k]
    near = np.take_along_axis(train_S, order, axis=0).T
    weights = np.where(np.isnan(near), 0.0, 1.0 / (dist[order].T + 1e-3))
    return near, weights


def score_intervals(train_X: np.ndarray, train_S: np.ndarray, x: np.ndarray,
                    utility: np.ndarray, k: int) -> np.ndarray:
    """(learners x 3) expected score, low, high in oriented units (higher is better).

    The centre is consistent with the ranking: the nearest datasets' mean learner score plus
    the ranker's predicted score relative to the mean learner (``utility``). The spread is
    that of the learner's scores on its nearest measured datasets (10th-90th weighted
    percentile).
    """
    dist = np.sqrt(((train_X - x) ** 2).sum(axis=1))
    nearest = np.argsort(dist, kind="stable")[: min(k, len(dist))]
    weights = 1.0 / (dist[nearest] + 1e-3)
    level = float((np.nanmean(train_S[nearest], axis=1) * weights).sum() / weights.sum())
    near, w = measured_neighbours(train_X, train_S, x, k)
    with np.errstate(all="ignore"):
        mean = np.nansum(near * w, 1) / w.sum(1)
    low, high = weighted_quantiles(near, w, INTERVAL_QUANTILES).T
    # a low outlier can pull the mean below the 10th percentile: keep the centre inside
    below, above = np.clip(mean - low, 0, None), np.clip(high - mean, 0, None)
    expected = level + utility
    return np.column_stack([expected, expected - below, expected + above])


@dataclass
class MetaModel:
    """Everything needed to rank learners for new meta-features, as plain arrays and tables."""

    metric: str
    scaler: FeatureScaler
    learners: list[str]
    train_info: pd.DataFrame  # index dataset_id: name, source, group
    train_X: np.ndarray  # scaled meta-features of the training datasets
    train_scores: np.ndarray  # oriented scores (higher is better), datasets x learners
    forest: ForestRanker
    warm: WarmStarter
    fingerprint: str
    k: int = DEFAULT_K
    knn_weight: float = KNN_WEIGHT

    @classmethod
    def fit(cls, kb: KnowledgeBaseLike | MetaTable, metric: str = "roc_auc", *,
            k: int = DEFAULT_K, min_coverage: float = 0.9, random_state: int = 0) -> MetaModel:
        """Train on a KB (or an already built :class:`MetaTable`) for ``metric``."""
        table = kb if isinstance(kb, MetaTable) else build_meta_table(
            kb, metric, min_coverage=min_coverage)
        scaler = FeatureScaler.fit(table.features)
        X = scaler.transform(table.features)
        S = table.scores.to_numpy(dtype=float)
        forest = ForestRanker(random_state=random_state).fit(X, S)
        return cls(metric=table.metric, scaler=scaler, learners=table.learners,
                   train_info=table.info.copy(), train_X=X, train_scores=S, forest=forest,
                   warm=WarmStarter.fit(table.configs), fingerprint=kb_fingerprint(table), k=k)

    @property
    def higher_is_better(self) -> bool:
        return METRICS_HIGHER_IS_BETTER[self.metric]

    def _knn(self) -> KNNRanker:
        return KNNRanker(k=self.k).fit(self.train_X, self.train_scores)

    def utilities(self, X: np.ndarray) -> np.ndarray:
        """Utility (datasets x learners) for already scaled meta-features; higher = try first."""
        utility = self.forest.predict(X)
        if self.knn_weight:
            utility = (utility + self.knn_weight * self._knn().predict(X)) / (1 + self.knn_weight)
        return utility

    def rank(self, metafeatures: pd.Series) -> pd.DataFrame:
        """Per learner, best first: utility, expected_score, low, high (in metric units)."""
        if not isinstance(metafeatures, pd.Series):
            raise MetaselError(
                "MetaModel.rank expects the pandas Series of extract_metafeatures(dataset); "
                f"got {type(metafeatures).__name__}. Call metasel.extract_metafeatures first."
            )
        X = self.scaler.transform(metafeatures)
        utility = self.utilities(X)[0]
        stats = score_intervals(self.train_X, self.train_scores, X[0], utility, self.k)
        sign = 1.0 if self.higher_is_better else -1.0
        low, high = np.sort(sign * stats[:, 1:], axis=1).T
        frame = pd.DataFrame({"learner": self.learners, "utility": utility,
                              "expected_score": sign * stats[:, 0], "low": low, "high": high})
        return frame.sort_values("utility", ascending=False, kind="stable").reset_index(drop=True)

    def nearest(self, metafeatures: pd.Series, n: int = 5) -> pd.DataFrame:
        """The ``n`` nearest training datasets with distance and every learner's score there."""
        X = self.scaler.transform(metafeatures)
        knn = KNNRanker(k=n).fit(self.train_X, self.train_scores)
        idx, dist = knn.neighbours(X)
        sign = 1.0 if self.higher_is_better else -1.0
        rows = self.train_info.iloc[idx[0]].reset_index()
        rows["distance"] = dist[0]
        scores = pd.DataFrame(sign * self.train_scores[idx[0]], columns=self.learners)
        return pd.concat([rows, scores], axis=1)

    def drivers(self, metafeatures: pd.Series, learner: str, n: int = 3) -> list[str]:
        """Meta-features whose replacement by the KB median moves ``learner``'s utility most
        (occlusion: one perturbed copy per meta-feature, predicted in one batch)."""
        X = self.scaler.transform(metafeatures)
        occluded = np.repeat(X, X.shape[1], axis=0)
        np.fill_diagonal(occluded, 0.0)  # scaled median is 0
        j = self.learners.index(learner)
        effect = self.utilities(X)[0, j] - self.utilities(occluded)[:, j]
        top = np.argsort(-np.abs(effect), kind="stable")[:n]
        return [self.scaler.columns[i] for i in top if effect[i] != 0]

    def _config_neighbours(self, metafeatures: pd.Series) -> list[str]:
        """Ids of the training datasets whose recorded configurations guide the warm start."""
        X = self.scaler.transform(metafeatures)
        idx, _ = KNNRanker(k=max(self.k, CONFIG_NEIGHBOURS)).fit(
            self.train_X, self.train_scores).neighbours(X)
        return [str(i) for i in self.train_info.index[idx[0]]]

    def configurations(self, metafeatures: pd.Series, learner: str, n: int = 10) -> list[dict[str, Any]]:
        """Ordered, de-duplicated configurations (param dicts) of ``learner`` to try first."""
        ids = self._config_neighbours(metafeatures)
        return [dict(self.warm.params.get(c, {})) for c in self.warm.propose(learner, ids, n)]

    def first_trials(self, metafeatures: pd.Series, learners: list[str],
                     n: int = 5) -> list[tuple[str, dict[str, Any]]]:
        """The ``n`` (learner, params) of ``learners`` to try first, as a set: the greedy
        portfolio of recorded configurations over the nearest datasets."""
        ids = self._config_neighbours(metafeatures)
        learner_of = self.warm.configs.drop_duplicates("config_id").set_index("config_id")["learner"]
        return [(str(learner_of[c]), dict(self.warm.params.get(c, {})))
                for c in self.warm.first_trials(learners, ids, n)]

    def save(self, path: str | Path) -> Path:
        """Write this model as JSON + parquet (no pickle) into folder ``path``."""
        from metasel.meta._store import save_meta_model

        return save_meta_model(self, path)

    @classmethod
    def load(cls, path: str | Path) -> MetaModel:
        """Read a folder written by :meth:`save`."""
        from metasel.meta._store import load_meta_model

        return load_meta_model(path)

    @classmethod
    def default(cls, metric: str = "roc_auc") -> MetaModel:
        """The meta-model shipped in ``metasel/resources/meta/<metric>/``."""
        from metasel.meta._store import load_default_meta_model

        return load_default_meta_model(metric)
