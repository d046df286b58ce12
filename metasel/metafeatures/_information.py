"""OpenML's information-theoretic qualities (entropies in bits, nominal attributes only).

Following OpenML's characteriser: ClassEntropy is the entropy of the class; the
AttributeEntropy and MutualInformation (information gain about the class) statistics cover
the nominal non-target attributes; EquivalentNumberOfAtts = ClassEntropy / mean MI and
MeanNoiseToSignalRatio = (mean attribute entropy - mean MI) / mean MI, both undefined when the
mean MI is not positive. OpenML's Weka code reads a missing nominal value as the attribute's
first declared value; we do the same so the published values stay comparable. Exact on all
rows: one ``bincount`` per attribute, O(n) each.
"""

from __future__ import annotations

import numpy as np

from metasel.metafeatures._stats import entropy_bits, summary
from metasel.metafeatures._table import Table


def information_metafeatures(table: Table) -> dict[str, float]:
    """Class entropy, attribute entropies, mutual information and their ratios."""
    k = table.n_classes
    class_counts = np.bincount(table.y, minlength=k)
    class_entropy = float(entropy_bits(class_counts))
    att_entropy = np.empty(table.codes.shape[1])
    mutual_info = np.empty(table.codes.shape[1])
    for j, (col, levels) in enumerate(zip(table.codes.T, table.n_levels, strict=True)):
        codes = np.maximum(col, 0).astype(np.int64)  # OpenML: missing -> first declared value
        joint = np.bincount(codes * k + table.y, minlength=max(int(levels), 1) * k).reshape(-1, k)
        value_counts = joint.sum(axis=1)
        att_entropy[j] = entropy_bits(value_counts)
        conditional = float((value_counts * entropy_bits(joint, axis=1)).sum() / table.n_rows)
        mutual_info[j] = round((class_entropy - conditional) * 1e14) / 1e14

    values = {"ClassEntropy": class_entropy}
    values.update(summary(att_entropy, "AttributeEntropy"))
    values.update(summary(mutual_info, "MutualInformation"))
    mean_mi = values["MeanMutualInformation"]
    mean_ae = values["MeanAttributeEntropy"]
    positive = bool(np.isfinite(mean_mi) and mean_mi > 0)
    values["EquivalentNumberOfAtts"] = class_entropy / mean_mi if positive else float("nan")
    values["MeanNoiseToSignalRatio"] = (mean_ae - mean_mi) / mean_mi if positive else float("nan")
    return values
