"""Presentation tables of a :class:`LodoResult` (shared by `metasel evaluate` and benchmarks)."""

from __future__ import annotations

import pandas as pd

from metasel.meta._evaluation import LodoResult

#: Regrets are shown in metric points (x100) for the bounded metrics.
POINTS = {"roc_auc": 100.0, "accuracy": 100.0, "balanced_accuracy": 100.0, "log_loss": 1.0}
_REGRET_COLUMNS = ("regret_mean", "regret_median", "best_of_top1", "best_of_top3",
                   "best_of_top5", "proposed", "default", "random", "regret")


def _scaled(frame: pd.DataFrame, factor: float) -> pd.DataFrame:
    out = frame.copy()
    for column in _REGRET_COLUMNS:
        if column in out:
            out[column] = out[column] * factor
    return out


def result_tables(result: LodoResult) -> dict[str, pd.DataFrame]:
    """Named tables (rankers, probes, warm start, first trials) with regrets in display units."""
    factor = POINTS.get(result.metric, 1.0)
    tables = {"rankers": _scaled(result.summary, factor)}
    if not result.probes.empty:
        tables["probes"] = _scaled(result.probes, factor)
    if not result.warmstart.empty:
        tables["warmstart"] = _scaled(result.warmstart, factor)
    if not result.first_trials.empty:
        tables["first_trials"] = _scaled(result.first_trials, factor)
    return tables
