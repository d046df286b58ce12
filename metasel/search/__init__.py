"""Budgeted, warm-started search: probes, one Optuna study, ensemble selection, refit."""

from metasel.search._budget import BudgetExceeded, Deadline, run_with_timeout
from metasel.search._ensemble import Selection, WeightedEnsemble, caruana_selection
from metasel.search._evaluate import METRICS, Evaluation, evaluate, make_splits, score_proba
from metasel.search._plan import Plan, cold_plan, warm_plan
from metasel.search._probes import ProbeOutcome, ProbeRecord, run_probes
from metasel.search._run import RefitWarning, SearchOutcome, SearchSettings, leaderboard, search
from metasel.search._study import (
    Candidate,
    SearchResult,
    TrialRecord,
    enqueue_warm_starts,
    make_study,
    run_study,
)

__all__ = [
    "METRICS",
    "BudgetExceeded",
    "Candidate",
    "Deadline",
    "Evaluation",
    "Plan",
    "ProbeOutcome",
    "ProbeRecord",
    "RefitWarning",
    "SearchOutcome",
    "SearchResult",
    "SearchSettings",
    "Selection",
    "TrialRecord",
    "WeightedEnsemble",
    "caruana_selection",
    "cold_plan",
    "enqueue_warm_starts",
    "evaluate",
    "leaderboard",
    "make_splits",
    "make_study",
    "run_probes",
    "run_study",
    "run_with_timeout",
    "score_proba",
    "search",
    "warm_plan",
]
