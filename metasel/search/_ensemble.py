"""Greedy ensemble selection (Caruana et al., 2004) over out-of-fold predictions.

Starting from an empty bag, repeatedly add (with replacement) the model whose addition
most improves the metric of the averaged out-of-fold probabilities. Picking with
replacement yields integer weights and makes the selection robust to overfitting the
validation rows, which a free weight optimisation is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from metasel.search._budget import Deadline
from metasel.search._evaluate import full_proba, score_proba


@dataclass(frozen=True)
class Selection:
    """Weights (summing to 1) over the candidates, and the selection's validation score."""

    weights: np.ndarray
    score: float

    @property
    def members(self) -> np.ndarray:
        """Indices of the candidates with a non-zero weight."""
        return np.flatnonzero(self.weights > 0)


def caruana_selection(
    oofs: Sequence[np.ndarray], y: np.ndarray, metric: str, size: int,
    deadline: Deadline | None = None,
) -> Selection:
    """Select ``size`` times with replacement among ``oofs`` (each ``n x k`` probabilities).

    Only rows that every candidate predicted are used, so holdout and CV candidates mix.
    Ties keep the earlier (better-ranked) candidate, which makes the result deterministic.
    The selection is anytime: once ``deadline`` has passed it returns the bag so far (at
    least one pick), since every step costs one scoring per candidate.
    """
    if not oofs:
        raise ValueError("caruana_selection needs at least one candidate")
    stack = np.stack(oofs)
    rows = ~np.isnan(stack[:, :, 0]).any(axis=0)
    stack, target = stack[:, rows], y[rows]
    counts = np.zeros(len(oofs), dtype=int)
    total = np.zeros_like(stack[0])
    best_score = -np.inf
    for step in range(1, max(1, size) + 1):
        if step > 1 and deadline is not None and deadline.expired():
            break
        trial_scores = np.array(
            [score_proba(metric, target, (total + cand) / step) for cand in stack]
        )
        trial_scores = np.where(np.isnan(trial_scores), -np.inf, trial_scores)
        pick = int(np.argmax(trial_scores))
        counts[pick] += 1
        total += stack[pick]
        best_score = float(trial_scores[pick])
    return Selection(weights=counts / counts.sum(), score=best_score)


class WeightedEnsemble(ClassifierMixin, BaseEstimator):
    """Average of members' class probabilities with fixed weights; labels are ``0..k-1``.

    ``fit`` fits clones of ``estimators``; :meth:`from_fitted` wraps already-fitted models
    (the fold models of a trial), which needs no further training time.
    """

    def __init__(self, estimators: Sequence[BaseEstimator], weights: Sequence[float],
                 n_classes: int) -> None:
        self.estimators = estimators
        self.weights = weights
        self.n_classes = n_classes

    @classmethod
    def from_fitted(cls, models: Sequence[BaseEstimator], weights: Sequence[float],
                    n_classes: int) -> WeightedEnsemble:
        ensemble = cls(list(models), list(weights), n_classes)
        ensemble.estimators_ = list(models)
        ensemble.classes_ = np.arange(n_classes)
        return ensemble

    def fit(self, X, y) -> WeightedEnsemble:  # noqa: N803 - scikit-learn naming
        self.estimators_ = [clone(est).fit(X, y) for est in self.estimators]
        self.classes_ = np.arange(self.n_classes)
        return self

    def predict_proba(self, X) -> np.ndarray:  # noqa: N803
        check_is_fitted(self, "estimators_")
        weights = np.asarray(self.weights, dtype=float)
        proba = sum(w * full_proba(m, X, self.n_classes)
                    for w, m in zip(weights, self.estimators_, strict=True))
        return proba / weights.sum()

    def predict(self, X) -> np.ndarray:  # noqa: N803
        return self.predict_proba(X).argmax(axis=1)
