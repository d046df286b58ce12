"""How many learners the study searches: the meta-model's top ones, more when time allows.

The top learners are probed and warm-started; the study then searches only them. On a short
budget that focus is the point of meta-learning. On small tables with a long budget the
study runs hundreds of trials over five learners, while the cold search, free to try the
whole zoo, won on the fresh datasets at 60 s with learners ranked 6th-9th by the meta-model
(k-NN on haberman, an RBF SVM on cylinder.bands; ``benchmarks/results/compare_fresh_60s``).
So the study adds the next-ranked learners while the expected number of trials leaves each
one at least ``TRIALS_PER_LEARNER``. Optuna fixes the learner choice of a study when it is
created, so the count is decided then, from the pace of one fold: the probes' fits scaled
to the fold's rows where probes ran, else one timed fold of the first warm start.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from metasel.search._budget import Deadline
from metasel.search._evaluate import Split, evaluate
from metasel.search._plan import Plan
from metasel.search._probes import ProbeRecord

#: expected trials per searched learner below which no further learner is added
TRIALS_PER_LEARNER = 10
#: share of the time left that the pace pilot (one fold) may take
PILOT_SHARE = 0.05


def learner_count(plan: Plan, expected_trials: float) -> int:
    """The number of learners to search: one per ``TRIALS_PER_LEARNER`` expected trials,
    never fewer than the plan's top ones nor more than every eligible learner."""
    most = len(plan.learners) + len(plan.more)
    fitting = math.floor(expected_trials / TRIALS_PER_LEARNER)
    return int(min(most, max(len(plan.learners), fitting)))


def expected_trials(fold_seconds: float | None, splits: Sequence[Split], n_jobs: int,
                    seconds: float, n_trials: int | None) -> float:
    """Trials of ``fold_seconds`` per fold that fit in ``seconds`` (0 when the pace is
    unknown: the search then stays on the top learners), at most ``n_trials``."""
    if not fold_seconds:
        return 0.0
    batches = math.ceil(len(splits) / max(1, n_jobs))
    trials = seconds / (fold_seconds * batches)
    return float(min(trials, n_trials)) if n_trials else trials


def probe_fold_seconds(records: Sequence[ProbeRecord], fold_rows: int) -> float | None:
    """One fold's seconds from the first rung's probes: their median time, scaled linearly
    from the probes' rows to the fold's (tree and linear learners grow about linearly)."""
    paces = [r.duration * fold_rows / r.train_size for r in records
             if r.rung == 0 and r.status == "ok" and r.train_size > 0]
    return float(np.median(paces)) if paces else None


def pilot_fold_seconds(plan: Plan, X: pd.DataFrame, y: np.ndarray, splits: Sequence[Split],
                       metric: str, make_model: Callable[[str, dict], BaseEstimator],
                       deadline: Deadline) -> float | None:
    """Seconds one fold of the first warm start takes (None when it fails or runs past
    ``PILOT_SHARE`` of the time left): the pace where no probe ran."""
    if not plan.warm_starts:
        return None
    name, params = plan.warm_starts[0]
    try:
        evaluation = evaluate(lambda: make_model(name, params), X, y, splits[:1], metric,
                              deadline.sub(PILOT_SHARE * deadline.remaining()),
                              n_classes=int(y.max()) + 1, keep_models=False)
    except Exception:  # noqa: BLE001 - cut or failing: the study deals with the learner
        return None
    return evaluation.duration
