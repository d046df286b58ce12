"""How much memory a fitted model holds, roughly: the search keeps the fold models of its
best candidates (a final ensemble of them needs no refit) only within a memory cap.

Full-depth extra trees (500 of them on 20,000 noisy rows) hold about half a gigabyte, a
logistic regression a few kilobytes; the estimate only needs to tell these apart. It sums
the numpy arrays reachable from the model's attributes (scikit-learn's compiled trees and
neighbour indexes through their pickled state) and counts a LightGBM booster by its
leaves, whose exact size would need the whole model serialised.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

#: bytes per LightGBM leaf (split and leaf values, thresholds, counts), a rough mean
LIGHTGBM_LEAF_BYTES = 100
#: values that hold no model memory of their own (classes and functions: shared code)
_ATOMS = (type(None), str, bytes, int, float, bool, type, types.ModuleType, types.FunctionType,
          types.BuiltinFunctionType, types.MethodType)


def model_nbytes(model: Any) -> int:
    """Approximate bytes held by ``model`` (any object graph: estimators, lists, dicts)."""
    total = 0
    seen: set[int] = set()
    states: list[Any] = []  # alive until the end, or a freed state's id would be reused
    stack = [model]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _ATOMS):
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            total += obj.nbytes
        elif _is_lightgbm_booster(obj):
            total += obj.num_trees() * _num_leaves(obj) * LIGHTGBM_LEAF_BYTES
        elif isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
        elif hasattr(obj, "__dict__"):
            stack.extend(vars(obj).values())
        else:  # compiled objects (scikit-learn's Tree, KDTree) expose their arrays this way
            states.append(_state(obj))
            stack.append(states[-1])
    return total


def _is_lightgbm_booster(obj: Any) -> bool:
    return type(obj).__name__ == "Booster" and hasattr(obj, "num_trees")


def _num_leaves(booster: Any) -> int:
    return int(booster.params.get("num_leaves", 31))  # LightGBM's default


def _state(obj: Any) -> Any:
    try:
        return obj.__getstate__()
    except Exception:  # noqa: BLE001 - an object without state counts as nothing
        return None
