"""Probabilities for margin classifiers (linear SVM, RBF SVC).

``CalibratedClassifierCV`` triples the fit time and refuses classes with fewer members
than folds, which the KB meets on small datasets; ``SVC(probability=True)`` runs an
internal 5-fold fit. Instead a logistic regression is fitted on the classifier's own
training margins (Platt scaling for two classes, multinomial for more): one extra cheap
fit, defined for any class sizes. It is somewhat over-confident, which log loss reveals
honestly in the KB.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted


class MarginProbaClassifier(ClassifierMixin, BaseEstimator):
    """Wrap a classifier that has ``decision_function`` so that it has ``predict_proba``."""

    def __init__(self, estimator: BaseEstimator) -> None:
        self.estimator = estimator

    def fit(self, X, y) -> MarginProbaClassifier:  # noqa: N803 - scikit-learn naming
        self.estimator_ = clone(self.estimator).fit(X, y)
        self.classes_ = self.estimator_.classes_
        margins = self._margins(X)
        self.calibrator_ = LogisticRegression(C=1.0, max_iter=1000).fit(margins, y)
        return self

    def _margins(self, X) -> np.ndarray:  # noqa: N803
        margins = np.asarray(self.estimator_.decision_function(X), dtype=float)
        return margins.reshape(len(margins), -1)

    def decision_function(self, X) -> np.ndarray:  # noqa: N803
        check_is_fitted(self, "estimator_")
        return self.estimator_.decision_function(X)

    def predict_proba(self, X) -> np.ndarray:  # noqa: N803
        check_is_fitted(self, "calibrator_")
        return self.calibrator_.predict_proba(self._margins(X))

    def predict(self, X) -> np.ndarray:  # noqa: N803
        """The most probable class, so predictions always agree with ``predict_proba``."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
