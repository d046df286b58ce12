"""Combine the meta-model's prior with learning-curve probes (cheap fits on small subsamples).

A probe score says how a learner does on *this* dataset, but at a few hundred rows, where
simple learners look better than they end up; the prior knows how learners rank at full size
on similar datasets but not this one. The combination ranks the probed learners by
``probe - best probe + prior_weight * (prior - best prior)`` (both in metric units relative to
the best candidate), and keeps unprobed learners after them in prior order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from metasel.exceptions import MetaselError
from metasel.meta._table import METRICS_HIGHER_IS_BETTER

#: Weight of the prior against the probe; chosen on LCDB (see benchmarks/results/meta_lodo.md).
PRIOR_WEIGHT = 0.5


def _row_max(values: np.ndarray) -> np.ndarray:
    """Row-wise max ignoring NaN; 0 for rows without any value (no all-NaN warnings)."""
    top = np.where(np.isnan(values), -np.inf, values).max(axis=1, keepdims=True)
    return np.where(np.isfinite(top), top, 0.0)


def combine_utilities(prior: np.ndarray, probes: np.ndarray, prior_weight: float = PRIOR_WEIGHT) -> np.ndarray:
    """Vectorised combination: (datasets x learners) prior utilities and probe scores (NaN =
    not probed) -> combined utilities; unprobed learners rank below every probed one."""
    prior = np.asarray(prior, float)
    probes = np.asarray(probes, float)
    probed = ~np.isnan(probes)
    p_rel = probes - _row_max(probes)
    q_rel = prior - _row_max(np.where(probed, prior, np.nan))
    combined = p_rel + prior_weight * q_rel
    # unprobed: below all probed ones, ordered by prior
    floor = np.nanmin(np.where(probed, combined, np.inf), axis=1, keepdims=True)
    floor = np.where(np.isfinite(floor), floor, 0.0)
    unprobed = floor - 1.0 + (prior - np.nanmax(prior, axis=1, keepdims=True)) / (
        1.0 + np.nanmax(np.abs(prior), axis=1, keepdims=True))
    return np.where(probed, combined, unprobed)


def combine_prior_with_probes(
    recommendations: Sequence[Any],
    probe_scores: Mapping[str, float],
    *,
    prior_weight: float = PRIOR_WEIGHT,
) -> list[Any]:
    """Re-rank ``recommendations`` (objects with ``learner`` and ``expected_score``, e.g.
    :class:`metasel.recommend.Recommendation`) with ``probe_scores`` (learner -> probe score,
    in the metric's own units). Lower-is-better metrics are handled through the items'
    ``metric`` attribute. Returns a new list; each dataclass item gets a ``probe_score`` when it
    has that field."""
    if not recommendations:
        return []
    names = [r.learner for r in recommendations]
    unknown = sorted(set(probe_scores) - set(names))
    if unknown:
        raise MetaselError(
            f"Probe scores must be for recommended learners {names}; got scores for {unknown}. "
            "Probe only learners that appear in the recommendations."
        )
    metric = getattr(recommendations[0], "metric", None)
    sign = -1.0 if metric is not None and not METRICS_HIGHER_IS_BETTER.get(metric, True) else 1.0
    prior = sign * np.array([[r.expected_score for r in recommendations]], float)
    probes = sign * np.array([[probe_scores.get(n, np.nan) for n in names]], float)
    utility = combine_utilities(prior, probes, prior_weight)[0]
    order = np.argsort(-utility, kind="stable")
    out = []
    for i in order:
        item = recommendations[i]
        if hasattr(item, "probe_score") and names[i] in probe_scores:
            item = replace(item, probe_score=float(probe_scores[names[i]]))
        out.append(item)
    return out
