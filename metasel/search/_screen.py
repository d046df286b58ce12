"""Screening the first-trial candidates on one cross-validation fold before the first trials.

The meta-model proposes a portfolio of candidate configurations (the greedy set over the
nearest known datasets); which of them suit *this* dataset, one fold already says well at a
third of a trial's cost. Offline on the KB (``benchmarks/first_trial_strategies.py``,
leave-one-group-out, 268 datasets, ROC AUC), the best of the portfolio's first 5 reached the
best of 50 random configurations on 33 % of the datasets; the best of the 5 that scored
highest on fold 0 of its first 20 on 56 %.

The fold is the study's own first one, so a screened configuration's score is part of the
cross-validated score its full trial gets later.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from metasel.search._budget import Deadline
from metasel.search._evaluate import GROW_SHARE, Split
from metasel.search._probes import ProbeRecord, fit_and_score

Config = tuple[str, dict[str, Any]]
#: a candidate is cut after this many even shares of the screen's time left
CUT_AFTER_SHARES = 2.0


@dataclass
class ScreenOutcome:
    """The screened candidates, best first, and one record per screening fit."""

    order: list[Config]
    records: list[ProbeRecord] = field(default_factory=list)


def screen(candidates: Sequence[Config], X: pd.DataFrame, y: np.ndarray, split: Split, *,
           metric: str, make_model: Callable[[str, dict[str, Any]], BaseEstimator],
           deadline: Deadline) -> ScreenOutcome:
    """Fit each candidate, in the given order, on ``split``'s training rows within
    ``deadline``; return them ordered by their score on its validation rows.

    Each fit grows anytime ensembles within an even share of the time left and is cut after
    ``CUT_AFTER_SHARES`` of them, so one slow candidate cannot starve the rest. The ones scored come first (best first, ties in the
    given order), then the ones the deadline cut or left unstarted, in the given order (that
    says nothing of them); a candidate that raised is left out, as its trial would raise too.
    """
    train, valid = split
    n_classes = int(y.max()) + 1
    X_train, y_train, X_valid, y_valid = X.iloc[train], y[train], X.iloc[valid], y[valid]
    records: list[ProbeRecord] = []
    for position, (name, params) in enumerate(candidates):
        if deadline.expired():
            break
        share = deadline.remaining() / (len(candidates) - position)
        record, _ = fit_and_score(name, params, make_model, X_train, y_train, X_valid, y_valid,
                                  metric, n_classes, deadline.sub(CUT_AFTER_SHARES * share), 0,
                                  stop_at=time.monotonic() + GROW_SHARE * share)
        records.append(record)
    scored = [(r.score, i) for i, r in enumerate(records)
              if r.status == "ok" and not math.isnan(r.score)]
    if len(scored) < 2:
        return ScreenOutcome(list(candidates), records)
    failed = {i for i, r in enumerate(records) if r.status == "failed"}
    first = [i for _, i in sorted(scored, key=lambda pair: (-pair[0], pair[1]))]
    rest = [i for i in range(len(candidates)) if i not in first and i not in failed]
    return ScreenOutcome([candidates[i] for i in first + rest], records)
