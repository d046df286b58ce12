"""Multi-output extremely randomised trees over meta-features, stored as plain arrays.

One forest predicts every learner's relative score at once (the trees are shared, so the
learners regularise each other). Targets are clipped at ``-clip``: a learner that collapses on
one dataset (an SVC that never converged) should teach "bad here", not dominate the squared
error of the whole fit. After fitting, the trees are flattened into arrays and prediction is
done with numpy, so the stored model is parquet (no pickle) and predicts identically after
loading.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    def from_sklearn(cls, forest: ExtraTreesRegressor) -> ForestArrays:
        parts, offset, roots = [], 0, []
        for estimator in forest.estimators_:
            tree = estimator.tree_
            leaf = tree.children_left < 0
            parts.append((np.where(leaf, -1, tree.children_left + offset),
                          np.where(leaf, -1, tree.children_right + offset),
                          np.where(leaf, 0, tree.feature), tree.threshold,
                          tree.value[:, :, 0].astype(np.float32)))  # halves the artifact
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


@dataclass
class ForestRanker:
    """Extra-trees regression of every learner's clipped relative score from meta-features."""

    n_estimators: int = 200
    min_samples_leaf: int = 3
    max_features: float = 0.5
    clip: float = 0.1
    random_state: int = 0
    name: str = "extra_trees"
    forest_: ForestArrays | None = field(default=None, repr=False)

    def fit(self, X: np.ndarray, S: np.ndarray) -> ForestRanker:
        R = relative_scores(S)
        R = np.where(np.isnan(R), np.nanmedian(R, axis=1, keepdims=True), R)
        R = np.clip(np.nan_to_num(R), -self.clip, 0.0)
        forest = ExtraTreesRegressor(
            n_estimators=self.n_estimators, min_samples_leaf=self.min_samples_leaf,
            max_features=self.max_features, random_state=self.random_state, n_jobs=1,
        ).fit(np.asarray(X, float), R)
        self.forest_ = ForestArrays.from_sklearn(forest)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.forest_ is None:
            raise MetaselError("This ForestRanker is not fitted yet; call fit(X, S) first.")
        return self.forest_.predict(X)
