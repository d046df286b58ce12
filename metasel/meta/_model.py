"""The trained meta-model: ranks learners for a dataset's meta-features and explains why.

It blends three rankers fitted on the same KB (k nearest datasets, a LightGBM regression over
(meta-features, learner), and the single-best order as a shrinkage prior), takes the
expected score and its interval from the nearest datasets' actual scores, and proposes
warm-start configurations. Saving/loading lives in :mod:`metasel.meta._store`.
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
from metasel.meta._rankers import KNNRanker, LGBMRanker, SingleBest
from metasel.meta._scaling import FeatureScaler
from metasel.meta._table import (
    METRICS_HIGHER_IS_BETTER,
    KnowledgeBaseLike,
    MetaTable,
    build_meta_table,
)
from metasel.meta._warmstart import WarmStarter

#: Blend weights of (knn, lightgbm, single_best) utilities; see benchmarks/results/meta_lodo.md.
BLEND_WEIGHTS = (1.0, 1.0, 2.0)
DEFAULT_K = 10
#: The interval is the weighted 10th-90th percentile of the neighbours' scores.
INTERVAL_QUANTILES = (0.1, 0.9)


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


@dataclass
class MetaModel:
    """Everything needed to rank learners for new meta-features, as plain arrays and tables."""

    metric: str
    scaler: FeatureScaler
    learners: list[str]
    train_info: pd.DataFrame  # index dataset_id: name, source, group
    train_X: np.ndarray  # scaled meta-features of the training datasets
    train_scores: np.ndarray  # oriented scores (higher is better), datasets x learners
    lgbm: LGBMRanker
    warm: WarmStarter
    fingerprint: str
    k: int = DEFAULT_K
    weights: tuple[float, float, float] = BLEND_WEIGHTS

    @classmethod
    def fit(cls, kb: KnowledgeBaseLike | MetaTable, metric: str = "roc_auc", *,
            k: int = DEFAULT_K, min_coverage: float = 0.9, random_state: int = 0) -> MetaModel:
        """Train on a KB (or an already built :class:`MetaTable`) for ``metric``."""
        table = kb if isinstance(kb, MetaTable) else build_meta_table(
            kb, metric, min_coverage=min_coverage)
        scaler = FeatureScaler.fit(table.features)
        X = scaler.transform(table.features)
        S = table.scores.to_numpy(dtype=float)
        lgbm = LGBMRanker(random_state=random_state).fit(X, S)
        return cls(metric=table.metric, scaler=scaler, learners=table.learners,
                   train_info=table.info.copy(), train_X=X, train_scores=S, lgbm=lgbm,
                   warm=WarmStarter.fit(table.configs), fingerprint=kb_fingerprint(table), k=k)

    @property
    def higher_is_better(self) -> bool:
        return METRICS_HIGHER_IS_BETTER[self.metric]

    def _knn(self) -> KNNRanker:
        return KNNRanker(k=self.k).fit(self.train_X, self.train_scores)

    def utilities(self, X: np.ndarray) -> np.ndarray:
        """Blended utility (datasets x learners) for already scaled meta-features."""
        knn = self._knn().predict(X)
        single = SingleBest().fit(self.train_X, self.train_scores).predict(X)
        w = self.weights
        return (w[0] * knn + w[1] * self.lgbm.predict(X) + w[2] * single) / sum(w)

    def rank(self, metafeatures: pd.Series) -> pd.DataFrame:
        """Per learner, best first: utility, expected_score, low, high (in metric units)."""
        if not isinstance(metafeatures, pd.Series):
            raise MetaselError(
                "MetaModel.rank expects the pandas Series of extract_metafeatures(dataset); "
                f"got {type(metafeatures).__name__}. Call metasel.extract_metafeatures first."
            )
        X = self.scaler.transform(metafeatures)
        utility = self.utilities(X)[0]
        idx, dist = self._knn().neighbours(X)
        near = self.train_scores[idx[0]]  # k x learners
        w = np.broadcast_to((1.0 / (dist[0] + 1e-3))[:, None], near.shape).T
        with np.errstate(all="ignore"):
            mean = np.nansum(near.T * w, 1) / np.where(np.isnan(near.T), 0, w).sum(1)
        bounds = weighted_quantiles(near.T, w, INTERVAL_QUANTILES)
        sign = 1.0 if self.higher_is_better else -1.0
        low, high = np.sort(sign * bounds, axis=1).T
        frame = pd.DataFrame({"learner": self.learners, "utility": utility,
                              "expected_score": sign * mean, "low": low, "high": high})
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
        """Meta-features with the largest LightGBM contribution to ``learner``'s utility."""
        X = self.scaler.transform(metafeatures)
        row = self.lgbm.design(X)[self.learners.index(learner)][None, :]
        contrib = self.lgbm.contributions(row)[0, : len(self.scaler.columns)]
        top = np.argsort(-np.abs(contrib), kind="stable")[:n]
        return [self.scaler.columns[i] for i in top if contrib[i] != 0]

    def configurations(self, metafeatures: pd.Series, learner: str, n: int = 10) -> list[dict[str, Any]]:
        """Ordered, de-duplicated configurations (param dicts) of ``learner`` to try first."""
        X = self.scaler.transform(metafeatures)
        knn = KNNRanker(k=max(self.k, 25)).fit(self.train_X, self.train_scores)
        idx, _ = knn.neighbours(X)
        ids = [str(i) for i in self.train_info.index[idx[0]]]
        return [dict(self.warm.params.get(c, {})) for c in self.warm.propose(learner, ids, n)]

    def save(self, path: str | Path) -> Path:
        """Write this model as JSON + LightGBM text + parquet into folder ``path``."""
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
