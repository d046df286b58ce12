"""A model factory for the search and estimator tests: real learners, two of them broken.

The search must finish on time with the others when one learner raises and one hangs.
"""

from __future__ import annotations

import time

from sklearn.base import BaseEstimator, ClassifierMixin

from metasel.learners import get_learner


class Raising(ClassifierMixin, BaseEstimator):
    """A learner that always fails to fit."""

    def fit(self, X, y):  # noqa: N803
        raise RuntimeError("broken learner")


class Hanging(ClassifierMixin, BaseEstimator):
    """A learner whose fit never returns in useful time."""

    def fit(self, X, y):  # noqa: N803
        time.sleep(30)
        return self


def faulty_factory(name: str, params: dict) -> BaseEstimator:
    """Real learners, except gaussian_nb raises and knn hangs."""
    if name == "gaussian_nb":
        return Raising()
    if name == "knn":
        return Hanging()
    return get_learner(name).build(params, random_state=0)
