"""`recommend`: which learners and configurations to try first on a dataset, and why.

Only learners of our zoo (:mod:`metasel.learners`) are recommended, because a recommendation
must be buildable; learners known only from imported KBs (LCDB) still shape the meta-model.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metasel.data import Dataset, load_dataset
from metasel.exceptions import KnowledgeBaseError, MetaselError
from metasel.learners import LEARNERS, eligible, get_learner
from metasel.meta import MetaModel
from metasel.metafeatures import extract_landmarkers, extract_metafeatures
from metasel.search import BudgetExceeded, Deadline, run_with_timeout

logger = logging.getLogger(__name__)

N_NEAREST = 5
N_CONFIGS = 10
#: first trials proposed as one set, over this many of the best learners a search can use
FIRST_TRIALS = 5
#: time :func:`recommend_within` keeps for ranking after the meta-features: a share of its
#: time, at least RANKING_MIN_S (ranking 11 learners takes about 0.2 s whatever the data; a
#: 0.5 s floor cut letter's 0.47 s of landmarkers in a 5 s fit, and its plan without them
#: was worse)
RANKING_SHARE, RANKING_MIN_S = 0.25, 0.3


@dataclass(frozen=True)
class Recommendation:
    """One learner to try, with the evidence behind it (all JSON-ready)."""

    learner: str
    expected_score: float
    interval: tuple[float, float]
    configurations: list[dict[str, Any]]
    nearest_datasets: list[dict[str, Any]]
    drivers: list[str] = field(default_factory=list)
    metric: str = "roc_auc"
    rank: int = 1
    probe_score: float | None = None
    #: trial numbers (1-based) of the first configurations, when they are among the first
    #: trials proposed for the dataset as a set across learners
    first_trials: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["interval"] = list(self.interval)
        return out


def _configurations(model: MetaModel, mf: pd.Series, learner: str,
                    first: list[tuple[int, dict[str, Any]]]) -> tuple[list[dict[str, Any]], list[int]]:
    """Proposed params (this learner's first trials first) and the first trials' numbers,
    with KB entries that recorded library defaults as ``{}`` resolved."""
    defaults = get_learner(learner).default_params()
    out: list[dict[str, Any]] = []
    trials: list[int] = []
    seen: set[str] = set()
    proposed = [*first, *((None, p) for p in model.configurations(mf, learner, N_CONFIGS)),
                (None, defaults)]
    for trial, params in proposed:
        resolved = params or defaults
        key = json.dumps(resolved, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            out.append(resolved)
            if trial is not None:
                trials.append(trial)
    return out[:N_CONFIGS], trials


def _first_trials(model: MetaModel, mf: pd.Series, learners: list[str]) -> dict[str, list]:
    """Per learner, its (trial number, params) among the dataset's first trials."""
    n_rows = int(mf.get("NumberOfInstances", 0))
    searchable = [name for name in learners if eligible(name, n_rows)][:FIRST_TRIALS]
    per_learner: dict[str, list] = {}
    for trial, (learner, params) in enumerate(model.first_trials(mf, searchable, FIRST_TRIALS), 1):
        per_learner.setdefault(learner, []).append((trial, params))
    return per_learner


def _nearest(near: pd.DataFrame, learner: str) -> list[dict[str, Any]]:
    return [
        {"name": str(r["name"]), "source": str(r["source"]), "dataset_id": str(r["dataset_id"]),
         "distance": round(float(r["distance"]), 4),
         "score": None if pd.isna(r[learner]) else round(float(r[learner]), 4)}
        for _, r in near.iterrows()
    ]


def recommend_from_metafeatures(mf: pd.Series, model: MetaModel, *, top: int = 5) -> list[Recommendation]:
    """Recommendations for already extracted meta-features (used by :func:`recommend`)."""
    if top < 1:
        raise MetaselError(f"The 'top' parameter of recommend must be >= 1; got {top}.")
    ranking = model.rank(mf)
    ranking = ranking[ranking["learner"].isin(LEARNERS)].head(top)
    if ranking.empty:
        raise KnowledgeBaseError(
            f"The meta-model knows none of the zoo learners {sorted(LEARNERS)} (it has "
            f"{model.learners}); retrain it on a KB with evaluations of zoo learners."
        )
    near = model.nearest(mf, N_NEAREST)
    first = _first_trials(model, mf, ranking["learner"].tolist())
    recommendations = []
    for i, row in enumerate(ranking.itertuples(index=False)):
        configurations, trials = _configurations(model, mf, row.learner, first.get(row.learner, []))
        recommendations.append(Recommendation(
            learner=row.learner, expected_score=round(float(row.expected_score), 4),
            interval=(round(float(row.low), 4), round(float(row.high), 4)),
            configurations=configurations, nearest_datasets=_nearest(near, row.learner),
            drivers=model.drivers(mf, row.learner), metric=model.metric, rank=i + 1,
            first_trials=trials,
        ))
    return recommendations


def recommend(
    X: Any,
    y: Any = None,
    *,
    target: str | None = None,
    metric: str = "roc_auc",
    top: int = 5,
    meta_model: MetaModel | None = None,
    random_state: int = 0,
) -> list[Recommendation]:
    """Rank zoo learners for a dataset (a `Dataset`, a DataFrame with ``y`` or ``target=``,
    or a path / ``openml:<id>`` source) and propose configurations to try first."""
    if isinstance(X, Dataset):
        dataset = X
    elif y is not None:
        dataset = load_dataset((X, np.asarray(y) if isinstance(y, list) else y))
    else:
        dataset = load_dataset(X, target)
    model = meta_model if meta_model is not None else MetaModel.default(metric)
    if model.metric != metric and meta_model is not None:
        raise MetaselError(
            f"The meta-model was trained for metric {model.metric!r}; got metric={metric!r}. "
            "Pass the matching metric or a meta-model trained for it."
        )
    mf = extract_metafeatures(dataset, random_state=random_state)
    return recommend_from_metafeatures(mf, model, top=top)


def recommend_within(dataset: Dataset, model: MetaModel, seconds: float, *, top: int = 5,
                     random_state: int = 0) -> list[Recommendation]:
    """:func:`recommend` that spends at most ``seconds`` on meta-features (else raises
    ``BudgetExceeded``) and keeps a reserve of them for the ranking.

    The landmarkers are nearly all of the extraction time (seconds on a table of 5,000 rows
    and 200 columns, milliseconds for the other qualities), and without them the ranking
    still beats the single best learner (leave-one-group-out, ``benchmarks/meta_lodo.py
    --without-landmarkers``: closed gap 0.20 on roc_auc, 0.17 on accuracy, against 0.14 and
    0.25 with them), so when they would not finish in time the meta-model ranks without
    them (it imputes them) rather than not at all. The ranking is not cut: its cost does
    not grow with the data (about 0.2 s), but the first one in a process under load
    outlasted 0.5 s, and cutting it threw the whole plan away.
    """
    deadline = Deadline(seconds)
    reserve = max(RANKING_SHARE * seconds, RANKING_MIN_S)
    mf = run_with_timeout(
        lambda: extract_metafeatures(dataset, random_state=random_state, landmarkers=False),
        deadline.remaining() - reserve, "meta-features")
    try:
        mf.update(run_with_timeout(lambda: extract_landmarkers(dataset, random_state=random_state),
                                   deadline.remaining() - reserve, "landmarkers"))
    except BudgetExceeded as error:
        logger.info("%s; the meta-model ranks without them", error)
    return recommend_from_metafeatures(mf, model, top=top)
