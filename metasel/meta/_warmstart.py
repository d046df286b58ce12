"""Warm-start proposals: which configurations of a learner to try first on a new dataset.

Two sources, interleaved and de-duplicated:

* the best configurations on the most similar known datasets (auto-sklearn 1.0);
* a greedy portfolio: the configurations that, together, minimise the mean regret over all
  training datasets (auto-sklearn 2.0 / TabRepo) — robust where the neighbours mislead.

Across learners, :meth:`WarmStarter.first_trials` picks the first trials of a search: a
greedy portfolio over the nearest datasets only, so that the few first trials complement
each other on datasets like this one (two configurations of the best learner can beat one of
each of two learners). Each pick weighs its gain against its cost there (fit time relative to
the neighbours' median configuration): a search under a budget runs its first trials in
order, and a cheap configuration that is nearly as good leaves time for the next ones.

A configuration is identified by ``config_id`` and carried as its ``params`` dict, which is
valid ``optuna.Study.enqueue_trial`` input for the learner's search space (prefix ``""``).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metasel.meta._table import parse_params

PORTFOLIO_SIZE = 10
SLIM_COLUMNS = ["dataset_id", "learner", "config_id", "score", "fit_time"]
#: relative score given to a configuration that a neighbour never ran (or that failed there):
#: at most this, so that an unknown configuration is never preferred to a measured one
UNMEASURED_PENALTY = -0.05
#: first trials weigh a configuration's gain against its relative fit time to this power:
#: offline (benchmarks/results/first_trial_costs), at budgets of 1-32 median fit times, five
#: first trials picked by gain per sqrt(cost) cut the regret of cost-blind ones by 22-39 %,
#: and are less drawn to the cheapest configurations than gain per cost
COST_POWER = 0.5
#: fit times below this (seconds) count as this, so that a rounded-down time is not free
MIN_FIT_TIME = 1e-3


def greedy_portfolio(relative: np.ndarray, size: int = PORTFOLIO_SIZE,
                     cost: np.ndarray | None = None) -> list[int]:
    """Column indices chosen greedily to maximise the mean over rows of the best chosen value.

    ``relative`` is (datasets x configurations) of score minus the best score on that dataset
    (<= 0); missing entries must be filled by the caller. With ``cost`` (one positive value
    per column), each step picks the largest gain divided by its cost; without it, the
    largest gain. Once nothing gains, the cheapest goes first.
    """
    n_rows, n_cols = relative.shape
    if n_cols == 0 or n_rows == 0:
        return []
    cost = np.ones(n_cols) if cost is None else np.asarray(cost, dtype=float)
    current = relative.min(axis=1)
    chosen: list[int] = []
    available = np.ones(n_cols, dtype=bool)
    for _ in range(min(size, n_cols)):
        gain = np.maximum(current[:, None], relative).mean(axis=0) - current.mean()
        gain = (gain + 1e-12) / cost
        gain[~available] = -np.inf
        best = int(np.argmax(gain))
        chosen.append(best)
        available[best] = False
        current = np.maximum(current, relative[:, best])
    return chosen


def relative_to_best(wide: pd.DataFrame, ceiling: float = 0.0) -> np.ndarray:
    """(datasets x configurations) score minus each dataset's best; a configuration not run
    on a dataset counts as that dataset's median one, and at most ``ceiling``."""
    scores = wide.to_numpy(float)
    relative = scores - np.nanmax(scores, axis=1, keepdims=True)
    neutral = np.minimum(np.nan_to_num(np.nanmedian(relative, axis=1, keepdims=True)), ceiling)
    return np.where(np.isnan(relative), neutral, relative)


@dataclass
class WarmStarter:
    """Proposes ordered configurations per learner from the configurations a KB recorded."""

    configs: pd.DataFrame = field(default_factory=pd.DataFrame)
    portfolios: dict[str, list[str]] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def fit(cls, configs: pd.DataFrame, size: int = PORTFOLIO_SIZE) -> WarmStarter:
        """``configs``: dataset_id, learner, config_id, params, score (higher is better) and,
        optionally, fit_time (seconds)."""
        table = _with_fit_time(configs)[[*SLIM_COLUMNS, "params"]]
        params = {cid: parse_params(p) for cid, p in
                  table.drop_duplicates("config_id")[["config_id", "params"]].itertuples(index=False)}
        portfolios = {}
        for learner, rows in table.groupby("learner", sort=True):
            wide = rows.pivot_table(index="dataset_id", columns="config_id", values="score",
                                    aggfunc="max")
            shared = wide.columns[wide.notna().sum() >= 2]
            if len(shared):
                wide = wide[shared]
            picked = greedy_portfolio(relative_to_best(wide), size)
            portfolios[str(learner)] = [str(wide.columns[i]) for i in picked]
        slim = table[SLIM_COLUMNS].reset_index(drop=True)
        return cls(configs=slim, portfolios=portfolios, params=params)

    def nearest_configs(self, learner: str, neighbour_ids: list[str], per_dataset: int = 3) -> list[str]:
        """Config ids of ``learner``: the best on the nearest dataset, then the next nearest, ..."""
        rows = self.configs[(self.configs["learner"] == learner)
                            & self.configs["dataset_id"].isin(neighbour_ids)]
        if rows.empty:
            return []
        order = {d: i for i, d in enumerate(neighbour_ids)}
        rows = rows.assign(_near=rows["dataset_id"].map(order),
                           _rank=rows.groupby("dataset_id")["score"].rank(ascending=False,
                                                                           method="first"))
        rows = rows[rows["_rank"] <= per_dataset].sort_values(["_rank", "_near"])
        return rows["config_id"].astype(str).tolist()

    def propose(self, learner: str, neighbour_ids: list[str], n: int = 10) -> list[str]:
        """Up to ``n`` config ids: neighbours' bests and the portfolio, interleaved, unique."""
        near = self.nearest_configs(learner, neighbour_ids)
        folio = self.portfolios.get(learner, [])
        merged: list[str] = []
        seen: set[str] = set()
        for i in range(max(len(near), len(folio))):
            for source in (near, folio):
                if i < len(source):
                    key = json.dumps(self.params.get(source[i], {}), sort_keys=True)
                    if key not in seen:
                        seen.add(key)
                        merged.append(source[i])
        return merged[:n]

    def first_trials(self, learners: list[str], neighbour_ids: list[str], n: int = 5) -> list[str]:
        """Config ids of ``learners`` that together do best on the neighbours for their cost
        (greedy: gain per ``relative_cost ** COST_POWER``).

        Each neighbour's scores are taken relative to its best configuration of ``learners``;
        a configuration it lacks counts as its median one, and at most ``UNMEASURED_PENALTY``.
        """
        rows = self.configs[self.configs["dataset_id"].isin(neighbour_ids)
                            & self.configs["learner"].isin(learners)]
        if rows.empty:
            return []
        wide = rows.pivot_table(index="dataset_id", columns="config_id", values="score",
                                aggfunc="max")
        relative = relative_to_best(wide, ceiling=UNMEASURED_PENALTY)
        times = rows.pivot_table(index="dataset_id", columns="config_id", values="fit_time",
                                 aggfunc="mean", dropna=False).reindex_like(wide)
        cost = relative_cost(times.to_numpy(float)) ** COST_POWER
        return [str(wide.columns[i]) for i in greedy_portfolio(relative, n, cost)]

    def to_frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(configs table, portfolio table) for parquet storage."""
        folio = pd.DataFrame(
            [(learner, i, cid) for learner, ids in self.portfolios.items()
             for i, cid in enumerate(ids)],
            columns=["learner", "position", "config_id"],
        )
        params = pd.Series({cid: json.dumps(p, sort_keys=True) for cid, p in self.params.items()},
                           name="params")
        configs = self.configs.join(params, on="config_id")
        return configs, folio

    @classmethod
    def from_frames(cls, configs: pd.DataFrame, folio: pd.DataFrame) -> WarmStarter:
        portfolios = {str(learner): rows.sort_values("position")["config_id"].astype(str).tolist()
                      for learner, rows in folio.groupby("learner")}
        params = {cid: json.loads(p) for cid, p in
                  configs.drop_duplicates("config_id")[["config_id", "params"]].itertuples(index=False)}
        slim = _with_fit_time(configs)[SLIM_COLUMNS].reset_index(drop=True)
        return cls(configs=slim, portfolios=portfolios, params=params)


def relative_cost(times: np.ndarray) -> np.ndarray:
    """Per column of ``times`` (datasets x configurations, seconds, NaN where unknown): the
    geometric mean over the rows of its time over the row's median; 1 where never timed."""
    logs = np.log(np.maximum(times, MIN_FIT_TIME))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows and columns
        centred = logs - np.nanmedian(logs, axis=1, keepdims=True)
        return np.exp(np.nan_to_num(np.nanmean(centred, axis=0), nan=0.0))


def _with_fit_time(configs: pd.DataFrame) -> pd.DataFrame:
    """``configs`` with a fit_time column (NaN: meta-models saved before it was recorded)."""
    return configs if "fit_time" in configs else configs.assign(fit_time=np.nan)
