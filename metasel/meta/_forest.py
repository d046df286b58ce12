"""Multi-output extremely randomised trees over meta-features, stored as plain arrays.

One forest predicts, for every pair of learners, their clipped score difference on a dataset
(the trees are shared, so the pairs regularise each other); a learner's utility is its mean
predicted margin over all learners (a Borda count weighted by margin; without clipping it is
the learner's score minus the dataset's mean learner score). Pairwise targets
won the leave-one-group-out comparison against regressing each learner's score relative to
the best (benchmarks/results/meta_lodo.md): a learner that collapses on a few datasets cannot
look good on average, because every comparison it loses counts, while the relative-to-best
target hides how often it is beaten by a small margin. Differences are clipped at ``+-clip``
so a collapse (an SVC that never converged) teaches "worse here", not a squared error that
dominates the fit. ``pairwise`` < 1 mixes in the relative-to-best target (clipped at
``-rel_clip``) with weight ``1 - pairwise``.

The aggregation is linear, so it is applied to every node's values once after fitting: the
stored forest has one output per learner. The trees are flattened into arrays and prediction
is done with numpy, so the stored model is parquet (no pickle) and predicts identically after
loading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
from sklearn.ensemble import ExtraTreesRegressor

from metasel.exceptions import MetaselError
from metasel.meta._rankers import relative_scores


@dataclass
class ForestArrays:
    """All trees of a forest, concatenated: node ``i`` of the forest is row ``i``."""

    left: np.ndarray  # global index of the left child, -1 at leaves
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray  # (nodes x outputs)
    roots: np.ndarray  # global index of each tree's root

    @classmethod
    def from_sklearn(cls, forest: ExtraTreesRegressor, combine: np.ndarray) -> ForestArrays:
        """Flatten ``forest``; node values become ``values @ combine`` (outputs -> learners)."""
        parts, offset, roots = [], 0, []
        for estimator in forest.estimators_:
            tree = estimator.tree_
            leaf = tree.children_left < 0
            parts.append((np.where(leaf, -1, tree.children_left + offset),
                          np.where(leaf, -1, tree.children_right + offset),
                          np.where(leaf, 0, tree.feature), tree.threshold,
                          (tree.value[:, :, 0] @ combine).astype(np.float32)))  # halves the artifact
            roots.append(offset)
            offset += tree.node_count
        left, right, feature, threshold, value = (np.concatenate(p) for p in zip(*parts, strict=True))
        return cls(left, right, feature.astype(np.int64), threshold, value, np.asarray(roots))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Mean over trees of the leaf values reached by each row of ``X``."""
        X = np.asarray(X, np.float32).astype(float)  # scikit-learn's trees split float32 values
        node = np.tile(self.roots, (X.shape[0], 1))  # rows x trees
        rows = np.arange(X.shape[0])[:, None]
        while True:
            inner = self.left[node] >= 0
            if not inner.any():
                break
            go_left = X[rows, self.feature[node]] <= self.threshold[node]
            node = np.where(inner, np.where(go_left, self.left[node], self.right[node]), node)
        return self.value[node].mean(axis=1, dtype=float)

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame({"left": self.left, "right": self.right, "feature": self.feature,
                              "threshold": self.threshold,
                              "root": np.isin(np.arange(len(self.left)), self.roots)})
        values = pd.DataFrame(self.value, columns=[f"v{j}" for j in range(self.value.shape[1])])
        return pd.concat([frame, values], axis=1)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> ForestArrays:
        values = [c for c in frame.columns if c.startswith("v") and c[1:].isdigit()]
        return cls(frame["left"].to_numpy(np.int64), frame["right"].to_numpy(np.int64),
                   frame["feature"].to_numpy(np.int64), frame["threshold"].to_numpy(float),
                   frame[values].to_numpy(np.float32), np.flatnonzero(frame["root"].to_numpy(bool)))


def pairwise_targets(R: np.ndarray, clip: float) -> tuple[np.ndarray, np.ndarray]:
    """Clipped differences ``R[:, i] - R[:, j]`` for every pair ``i < j`` and the matrix that
    turns them into each learner's mean margin over all learners (pairs x learners)."""
    n_learners = R.shape[1]
    pairs = np.asarray(list(combinations(range(n_learners), 2)), dtype=int).reshape(-1, 2)
    D = np.clip(R[:, pairs[:, 0]] - R[:, pairs[:, 1]], -clip, clip)
    combine = np.zeros((len(pairs), n_learners))
    rows = np.arange(len(pairs))
    combine[rows, pairs[:, 0]] = 1.0 / n_learners
    combine[rows, pairs[:, 1]] = -1.0 / n_learners
    return D, combine


@dataclass
class ForestRanker:
    """Extra-trees regression of clipped pairwise score differences from meta-features."""

    n_estimators: int = 200
    min_samples_leaf: int = 3
    max_features: float = 0.5
    clip: float = 0.05
    pairwise: float = 1.0
    rel_clip: float = 0.1
    random_state: int = 0
    name: str = "extra_trees"
    forest_: ForestArrays | None = field(default=None, repr=False)

    def fit(self, X: np.ndarray, S: np.ndarray) -> ForestRanker:
        R = relative_scores(S)
        # a learner not measured on a dataset counts as that dataset's median learner
        R = np.nan_to_num(np.where(np.isnan(R), np.nanmedian(R, axis=1, keepdims=True), R))
        targets, combines = [], []
        if self.pairwise > 0:
            D, combine = pairwise_targets(R, self.clip)
            targets.append(D)
            combines.append(self.pairwise * combine)
        if self.pairwise < 1:
            targets.append(np.clip(R, -self.rel_clip, 0.0))
            combines.append((1.0 - self.pairwise) * np.eye(R.shape[1]))
        Y = np.hstack(targets)
        forest = ExtraTreesRegressor(
            n_estimators=self.n_estimators, min_samples_leaf=self.min_samples_leaf,
            max_features=self.max_features, random_state=self.random_state, n_jobs=1,
        ).fit(np.asarray(X, float), Y[:, 0] if Y.shape[1] == 1 else Y)  # 1 output: 1-d y
        self.forest_ = ForestArrays.from_sklearn(forest, np.vstack(combines))
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.forest_ is None:
            raise MetaselError("This ForestRanker is not fitted yet; call fit(X, S) first.")
        return self.forest_.predict(X)
