"""``remember=True``: append a fit's evaluations to a local knowledge base.

Each successful trial becomes one KB evaluation row (same schema as the shipped KB, origin
``"sampled"``), so a meta-model retrained on the shipped KB plus this one (``metasel kb
train-meta default cache/kb --out DIR --min-coverage 0.3``) learns from the user's own
datasets too: a fit scores only the learners it searched, so the default coverage rule
(90 % of the learners) would leave them out. The dataset is identified (and named) by a
digest of its content, so fitting the same table twice updates rather than duplicates it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metasel.data import Dataset
from metasel.kb import KBWriter
from metasel.learners import canonical_json, config_id
from metasel.search._study import TrialRecord

#: where ``remember=True`` writes, relative to the working directory
DEFAULT_LOCAL_KB = Path("cache") / "kb"


def remember_fit(path: str | Path, dataset: Dataset, dataset_id: str,
                 records: list[TrialRecord], *, metric: str, n_folds: int, train_size: int,
                 seed: int | None, metafeatures: pd.Series | None = None) -> int:
    """Write the dataset (once) and every successful trial to the KB at ``path``.

    Returns the number of evaluation rows written. ``metafeatures`` are extracted here when
    not given (that time is spent after the search, outside the fit's budget).
    """
    writer = KBWriter(path)
    if dataset_id not in writer.existing_dataset_ids():
        if metafeatures is None:
            from metasel.metafeatures import extract_metafeatures

            metafeatures = extract_metafeatures(dataset, random_state=seed or 0)
        row: dict[str, Any] = {
            "dataset_id": dataset_id, "name": dataset_id, "source": dataset.source,
            "source_id": dataset_id, "group": dataset_id, "task": dataset.task,
            "n_rows": len(dataset.y), "n_features": dataset.X.shape[1],
            "n_classes": dataset.n_classes, "openml_id": None,
        }
        row.update({k: float(v) for k, v in metafeatures.items()})
        writer.write_datasets(pd.DataFrame([row]))
    rows = [_evaluation(r, dataset_id, metric, n_folds, train_size, seed)
            for r in records if r.status == "ok" and not math.isnan(r.score)]
    return writer.write_evaluations(pd.DataFrame(rows)) if rows else 0


def _evaluation(record: TrialRecord, dataset_id: str, metric: str, n_folds: int,
                train_size: int, seed: int | None) -> dict[str, Any]:
    sign = -1.0 if metric == "log_loss" else 1.0  # the search maximises negated log loss
    config = {"learner": record.learner, "params": record.params}
    return {
        "dataset_id": dataset_id, "group": dataset_id, "learner": record.learner,
        "config_id": config_id(config), "params": canonical_json(record.params),
        "origin": "sampled", "train_size": int(train_size),
        "n_folds": len(record.fold_scores) or int(n_folds),  # fewer when cut short
        metric: sign * record.score,
        f"{metric}_folds": [sign * s for s in record.fold_scores if np.isfinite(s)],
        "fit_time": record.fit_time, "predict_time": math.nan, "status": "ok", "error": "",
        "seed": -1 if seed is None else int(seed),
    }
