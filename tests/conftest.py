"""Shared fixtures: small real tables, and the shared ARFF corpus when it is there."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

ARFF_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "arff"
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="session")
def arff_root() -> Path:
    if not ARFF_ROOT.is_dir():
        pytest.skip(f"the shared ARFF corpus is absent ({ARFF_ROOT})")
    return ARFF_ROOT


@pytest.fixture()
def benchmark_script(monkeypatch) -> Callable[[str], ModuleType]:
    """Imports a script of benchmarks/ by name (the scripts import compare.py beside them)."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module


@pytest.fixture()
def mixed_frame() -> pd.DataFrame:
    """A table with numbers, numbers stored as text, categories, missing values and an id."""
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame({
        "id": np.arange(n),
        "age": rng.integers(18, 80, n).astype(float),
        "income": [f"{v:.2f}" for v in rng.normal(50_000, 9_000, n)],
        "city": rng.choice(["paris", "lyon", "nice"], n),
        "constant": "same",
        "empty": np.nan,
        "y": rng.choice(["yes", "no"], n),
    })
    frame.loc[::7, "age"] = np.nan
    frame.loc[::11, "city"] = None
    return frame


@pytest.fixture(scope="module")
def table() -> tuple[pd.DataFrame, np.ndarray]:
    """A small numeric binary table for search tests (400 rows, 8 features)."""
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=400, n_features=8, n_informative=4, random_state=0)
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(8)]), y
