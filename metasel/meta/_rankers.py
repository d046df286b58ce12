"""Learner rankers: from scaled meta-features to a predicted utility per learner.

All rankers share one contract so the evaluation and the meta-model can swap them:
``fit(X, S)`` with ``X`` the scaled meta-features (datasets x features) and ``S`` the scores
(datasets x learners, higher is better, NaN = not measured); ``predict(X)`` returns a
(datasets x learners) utility where, within a row, higher means "try first". Utilities are
in units of the metric relative to a per-dataset reference: the best learner of the dataset
here (0 = as good as the best, the quantity top-1 regret measures), the mean learner for
:class:`~metasel.meta._forest.ForestRanker`. A per-row offset changes no ranking, so blends
and probe combinations only compare differences within a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import lightgbm as lgb
import numpy as np

from metasel.exceptions import MetaselError


class Ranker(Protocol):
    name: str

    def fit(self, X: np.ndarray, S: np.ndarray) -> Ranker: ...

    def predict(self, X: np.ndarray) -> np.ndarray: ...


def relative_scores(S: np.ndarray) -> np.ndarray:
    """Each dataset's scores minus its best score (<= 0; NaN stays NaN)."""
    with np.errstate(all="ignore"):
        return S - np.nanmax(S, axis=1, keepdims=True)


def _fill_missing(U: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(U), fallback[None, :], U)


def pairwise_distances(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of ``A`` and of ``B`` (vectorised)."""
    sq = (A**2).sum(1)[:, None] + (B**2).sum(1)[None, :] - 2.0 * A @ B.T
    return np.sqrt(np.clip(sq, 0.0, None))


@dataclass
class SingleBest:
    """Always the same order: learners by mean relative score over the training datasets."""

    name: str = "single_best"
    utility_: np.ndarray = field(default_factory=lambda: np.empty(0))

    def fit(self, X: np.ndarray, S: np.ndarray) -> SingleBest:
        R = relative_scores(S)
        # a learner not measured on a dataset counts as that dataset's median learner
        neutral = np.nanmedian(R, axis=1, keepdims=True)
        self.utility_ = np.where(np.isnan(R), neutral, R).mean(axis=0)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.tile(self.utility_, (X.shape[0], 1))


@dataclass
class AverageRank:
    """Always the same order: learners by their mean rank over the training datasets."""

    name: str = "average_rank"
    utility_: np.ndarray = field(default_factory=lambda: np.empty(0))

    def fit(self, X: np.ndarray, S: np.ndarray) -> AverageRank:
        filled = np.where(np.isnan(S), -np.inf, S)
        ranks = (-filled).argsort(axis=1).argsort(axis=1).astype(float)
        self.utility_ = -ranks.mean(axis=0)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.tile(self.utility_, (X.shape[0], 1))


@dataclass
class KNNRanker:
    """Mean relative score of each learner on the ``k`` nearest training datasets."""

    k: int = 10
    name: str = "knn"
    X_: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    R_: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    fallback_: np.ndarray = field(default_factory=lambda: np.empty(0))

    def fit(self, X: np.ndarray, S: np.ndarray) -> KNNRanker:
        self.X_, self.R_ = np.asarray(X, float), relative_scores(S)
        self.fallback_ = SingleBest().fit(X, S).utility_
        return self

    def neighbours(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Indices and distances of the nearest training datasets, nearest first."""
        D = pairwise_distances(np.asarray(X, float), self.X_)
        k = min(self.k, self.X_.shape[0])
        idx = np.argsort(D, axis=1, kind="stable")[:, :k]
        return idx, np.take_along_axis(D, idx, axis=1)

    def predict(self, X: np.ndarray) -> np.ndarray:
        idx, dist = self.neighbours(X)
        R = self.R_[idx]  # (m, k, L)
        w = 1.0 / (dist + 1e-3)
        w = np.where(np.isnan(R), 0.0, w[:, :, None])
        with np.errstate(all="ignore"):
            U = (np.nan_to_num(R) * w).sum(1) / w.sum(1)
        return _fill_missing(U, self.fallback_)


@dataclass
class LGBMRanker:
    """LightGBM regression of the relative score from (meta-features, learner one-hot).

    Few shallow trees and one thread: the evaluation refits it once per held-out group.
    """

    n_estimators: int = 100
    learning_rate: float = 0.05
    num_leaves: int = 15
    min_child_samples: int = 20
    random_state: int = 0
    name: str = "lightgbm"
    booster_: lgb.Booster | None = None
    n_learners_: int = 0

    def design(self, X: np.ndarray) -> np.ndarray:
        """Rows (dataset, learner): the dataset's meta-features then the learner's index."""
        m, L = X.shape[0], self.n_learners_
        rows = np.repeat(np.asarray(X, float), L, axis=0)
        learner = np.tile(np.arange(L, dtype=float), m)[:, None]
        return np.hstack([rows, learner])

    def fit(self, X: np.ndarray, S: np.ndarray) -> LGBMRanker:
        self.n_learners_ = S.shape[1]
        target = relative_scores(S).ravel()
        design = self.design(X)
        keep = ~np.isnan(target)
        params = {
            "objective": "regression", "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves, "min_data_in_leaf": self.min_child_samples,
            "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1,
            "seed": self.random_state, "num_threads": 1, "verbose": -1,
            "deterministic": True,
        }
        data = lgb.Dataset(design[keep], target[keep],
                           categorical_feature=[design.shape[1] - 1], free_raw_data=True)
        self.booster_ = lgb.train(params, data, num_boost_round=self.n_estimators)
        return self

    def _booster(self) -> lgb.Booster:
        if self.booster_ is None:
            raise MetaselError("This LGBMRanker is not fitted yet; call fit(X, S) first.")
        return self.booster_

    def predict(self, X: np.ndarray) -> np.ndarray:
        pred = self._booster().predict(self.design(X), num_threads=1)
        return np.asarray(pred).reshape(X.shape[0], self.n_learners_)


@dataclass
class BlendRanker:
    """Weighted mean of other rankers' utilities (all in relative-score units)."""

    members: list[Ranker]
    weights: list[float]
    name: str = "blend"

    def fit(self, X: np.ndarray, S: np.ndarray) -> BlendRanker:
        for member in self.members:
            member.fit(X, S)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        total = sum(self.weights)
        return sum(w * m.predict(X) for m, w in zip(self.members, self.weights, strict=True)) / total
