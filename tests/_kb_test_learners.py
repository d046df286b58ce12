"""Deliberately broken learners for the KB build tests (a METASEL_PLUGINS module).

Imported by the test process and, through ``METASEL_PLUGINS``, by every evaluation
sandbox, so both sides know the same entries.
"""

from __future__ import annotations

import os
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from metasel.learners import LEARNERS, Float, Learner, register_learner


class Hangs(ClassifierMixin, BaseEstimator):
    """Sleeps far longer than any test's time limit."""

    def __init__(self, seconds: float = 600.0) -> None:
        self.seconds = seconds

    def fit(self, X, y):  # noqa: N803
        time.sleep(self.seconds)
        return self


class Raises(ClassifierMixin, BaseEstimator):
    """Fails in fit, as a learner that cannot handle a dataset does."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds

    def fit(self, X, y):  # noqa: N803
        raise RuntimeError("deliberate failure in fit")

    def predict_proba(self, X):  # noqa: N803
        return np.full((len(X), 2), 0.5)


class KillsProcess(Raises):
    """Takes its process down, as a segfaulting C extension would."""

    def fit(self, X, y):  # noqa: N803
        os._exit(7)


def _entry(name: str, cls: type) -> Learner:
    space = (Float("seconds", 0.0, 1000.0, 600.0),)
    return Learner(name, space, lambda p, rs: cls(p["seconds"]), "onehot", f"test: {name}")


for _name, _cls in (("test_hangs", Hangs), ("test_raises", Raises), ("test_kills", KillsProcess)):
    if _name not in LEARNERS:
        register_learner(_entry(_name, _cls))
