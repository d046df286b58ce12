"""How much slower or faster one learner fits than another: measured once on the KB.

The search judges a trial by its expected time before it starts. A learner already run on
this dataset has its own pace; one not run yet is guessed from the learners that have, scaled
by the ratio of their typical costs (FLAML keeps a similar table relative to LightGBM). The
ratios span ~40x (decision tree to extra trees on the shipped KB), so "as slow as the others"
both starts trials that cannot finish and refuses ones that would.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd

COSTS_FILE = Path(__file__).resolve().parents[1] / "resources" / "learner_costs.json"
#: datasets on which fewer learners were measured say little about their ratios
MIN_LEARNERS_PER_DATASET = 3


def measure_relative_costs(evaluations: pd.DataFrame) -> dict[str, float]:
    """Per learner: median over datasets of its fit time / that dataset's median learner.

    ``evaluations`` has ``dataset_id``, ``learner``, ``fit_time`` and ``status`` columns (a
    KB's evaluations table); only successful fits count, each learner by its median
    configuration on a dataset. A learner of typical cost gets 1.0.
    """
    ok = evaluations[(evaluations["status"] == "ok") & (evaluations["fit_time"] > 0)]
    per_dataset = ok.groupby(["dataset_id", "learner"])["fit_time"].median().unstack()
    per_dataset = per_dataset[per_dataset.notna().sum(axis=1) >= MIN_LEARNERS_PER_DATASET]
    logs = np.log(per_dataset)
    relative = logs.sub(logs.median(axis=1), axis=0).median()
    return {str(name): round(float(np.exp(value)), 4) for name, value in relative.items()
            if np.isfinite(value)}


def write_relative_costs(costs: dict[str, float], path: Path = COSTS_FILE) -> Path:
    path.write_text(json.dumps(dict(sorted(costs.items())), indent=1) + "\n")
    relative_costs.cache_clear()
    return path


@functools.cache
def relative_costs() -> dict[str, float]:
    """The shipped table (empty when absent: every learner then counts as typical)."""
    try:
        return {str(k): float(v) for k, v in json.loads(COSTS_FILE.read_text()).items()}
    except (OSError, ValueError):
        return {}


def cost_ratio(learner: str, other: str) -> float:
    """How many times longer ``learner`` is expected to fit than ``other`` on one dataset."""
    costs = relative_costs()
    return costs.get(learner, 1.0) / costs.get(other, 1.0)
