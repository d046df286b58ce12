"""OpenML's simple qualities: counts, class balance, missing values, nominal cardinalities.

Conventions follow OpenML's characteriser: the target is an attribute, so it counts in
NumberOfFeatures, NumberOfSymbolicFeatures, NumberOfBinaryFeatures (a nominal attribute with
exactly two *declared* values) and the NominalAttDistinctValues statistics (values actually
observed, missing excluded); percentages are of NumberOfFeatures (target included).
"""

from __future__ import annotations

import numpy as np

from metasel.metafeatures._table import Table


def simple_metafeatures(table: Table) -> dict[str, float]:
    """Counts and class statistics of the whole table (exact, no sampling; O(n p))."""
    n = table.n_rows
    p_num, p_cat = table.numeric.shape[1], table.codes.shape[1]
    n_features = p_num + p_cat + 1  # the (nominal) target is one of OpenML's features
    n_symbolic = p_cat + 1
    n_binary = int((table.n_levels == 2).sum()) + int(table.n_classes == 2)

    missing_num = np.isnan(table.numeric)
    missing_cat = table.codes < 0
    n_missing = int(missing_num.sum()) + int(missing_cat.sum())
    rows_missing = int((missing_num.any(axis=1) | missing_cat.any(axis=1)).sum())

    class_counts = np.bincount(table.y, minlength=table.n_classes)
    observed = class_counts[class_counts > 0]
    changes = int((table.y[1:] != table.y[:-1]).sum())

    values = {
        "NumberOfInstances": float(n),
        "NumberOfFeatures": float(n_features),
        "NumberOfClasses": float(observed.size),
        "Dimensionality": n_features / n,
        "NumberOfMissingValues": float(n_missing),
        "NumberOfInstancesWithMissingValues": float(rows_missing),
        "PercentageOfMissingValues": 100.0 * n_missing / (n * n_features),
        "PercentageOfInstancesWithMissingValues": 100.0 * rows_missing / n,
        "NumberOfNumericFeatures": float(p_num),
        "NumberOfSymbolicFeatures": float(n_symbolic),
        "NumberOfBinaryFeatures": float(n_binary),
        "PercentageOfNumericFeatures": 100.0 * p_num / n_features,
        "PercentageOfSymbolicFeatures": 100.0 * n_symbolic / n_features,
        "PercentageOfBinaryFeatures": 100.0 * n_binary / n_features,
        "MajorityClassSize": float(observed.max()),
        "MinorityClassSize": float(observed.min()),
        "MajorityClassPercentage": 100.0 * observed.max() / n,
        "MinorityClassPercentage": 100.0 * observed.min() / n,
        "AutoCorrelation": (n - 1 - changes) / (n - 1) if n > 1 else float("nan"),
        "NumberOfFeaturesAfterBinarization": float(int((~missing_num).any(axis=0).sum()) + int(table.n_levels.sum())),
    }
    values.update(_distinct_values(table))
    return values


def _distinct_values(table: Table) -> dict[str, float]:
    """Statistics of the observed distinct values per nominal attribute (target included)."""
    per_att = np.array(
        [np.count_nonzero(np.bincount(col[col >= 0], minlength=1)) for col in table.codes.T],
        dtype=np.int64,
    )
    per_att = np.append(per_att, np.unique(table.y).size).astype(np.float64)
    return {
        "MaxNominalAttDistinctValues": float(per_att.max()),
        "MinNominalAttDistinctValues": float(per_att.min()),
        "MeanNominalAttDistinctValues": float(per_att.mean()),
        "StdvNominalAttDistinctValues": float(per_att.std(ddof=1)) if per_att.size > 1 else float("nan"),
    }
