"""Small numeric helpers that reproduce the Apache Commons Math conventions OpenML uses."""

from __future__ import annotations

import numpy as np


def percentile(values: np.ndarray, q: float) -> float:
    """Commons Math's legacy percentile (position ``q(n+1)/100``, clipped); NaN when empty.

    This is numpy's ``weibull`` method, the estimator behind OpenML's Quartile* qualities.
    """
    if values.size == 0:
        return float("nan")
    return float(np.percentile(values, q, method="weibull"))


def summary(values: np.ndarray, stem: str, suffix: str = "") -> dict[str, float]:
    """Mean, Min, Max and Quartile1-3 of ``values`` named ``<Stat><stem><suffix>``; NaN if empty."""
    values = values[np.isfinite(values)]
    empty = values.size == 0
    nan = float("nan")
    return {
        f"Mean{stem}{suffix}": nan if empty else float(values.mean()),
        f"Min{stem}{suffix}": nan if empty else float(values.min()),
        f"Max{stem}{suffix}": nan if empty else float(values.max()),
        f"Quartile1{stem}{suffix}": percentile(values, 25),
        f"Quartile2{stem}{suffix}": percentile(values, 50),
        f"Quartile3{stem}{suffix}": percentile(values, 75),
    }


def entropy_bits(counts: np.ndarray, axis: int = -1) -> np.ndarray:
    """Shannon entropy in bits of count vectors along ``axis`` (zero counts contribute 0)."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum(axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = counts / total
        terms = np.where(counts > 0, p * np.log2(np.where(counts > 0, p, 1.0)), 0.0)
    return -terms.sum(axis=axis) + 0.0  # + 0.0 turns -0.0 into 0.0
