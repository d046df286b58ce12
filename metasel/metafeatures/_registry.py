"""The explicit table of every meta-feature: name -> group and description.

Names without a prefix are OpenML data qualities with OpenML's definitions (see
docs/metafeatures.md); names starting with ``ms_`` are metasel's own. The order here is the
order of ``extract_metafeatures``' output.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetaFeature:
    """One registered meta-feature."""

    name: str
    group: str  # "simple" | "statistical" | "information" | "landmarker" | "extra"
    description: str
    openml: bool  # True when the name and definition are OpenML's


def _entries() -> list[MetaFeature]:
    simple = [
        ("NumberOfInstances", "Rows."),
        ("NumberOfFeatures", "Attributes including the target (OpenML counts the target)."),
        ("NumberOfClasses", "Distinct class values observed."),
        ("Dimensionality", "NumberOfFeatures / NumberOfInstances."),
        ("NumberOfMissingValues", "Missing cells over all attributes."),
        ("NumberOfInstancesWithMissingValues", "Rows with at least one missing cell."),
        ("PercentageOfMissingValues", "100 * missing cells / (rows * NumberOfFeatures)."),
        ("PercentageOfInstancesWithMissingValues", "100 * rows with a missing cell / rows."),
        ("NumberOfNumericFeatures", "Numeric attributes."),
        ("NumberOfSymbolicFeatures", "Nominal attributes including the (nominal) target."),
        ("NumberOfBinaryFeatures", "Nominal attributes with exactly 2 declared values, target included."),
        ("PercentageOfNumericFeatures", "100 * NumberOfNumericFeatures / NumberOfFeatures."),
        ("PercentageOfSymbolicFeatures", "100 * NumberOfSymbolicFeatures / NumberOfFeatures."),
        ("PercentageOfBinaryFeatures", "100 * NumberOfBinaryFeatures / NumberOfFeatures."),
        ("MajorityClassSize", "Rows of the most frequent class."),
        ("MinorityClassSize", "Rows of the least frequent observed class."),
        ("MajorityClassPercentage", "100 * MajorityClassSize / rows."),
        ("MinorityClassPercentage", "100 * MinorityClassSize / rows."),
        ("AutoCorrelation", "Share of consecutive row pairs with the same class (file order)."),
        ("NumberOfFeaturesAfterBinarization", "Numeric attributes with a value + declared values of nominal predictors (one-hot width)."),
        ("MaxNominalAttDistinctValues", "Max observed distinct values of a nominal attribute (target included)."),
        ("MinNominalAttDistinctValues", "Min observed distinct values of a nominal attribute (target included)."),
        ("MeanNominalAttDistinctValues", "Mean observed distinct values of nominal attributes (target included)."),
        ("StdvNominalAttDistinctValues", "Sample std of observed distinct values of nominal attributes; NaN with one."),
    ]
    out = [MetaFeature(n, "simple", d, True) for n, d in simple]
    stats = {
        "Means": "per-attribute means",
        "StdDev": "per-attribute sample standard deviations",
        "Kurtosis": "per-attribute bias-corrected excess kurtoses",
        "Skewness": "per-attribute bias-corrected skewnesses",
    }
    for stem, what in stats.items():
        out += _summaries(stem, "OfNumericAtts", f"{what} of numeric attributes", "statistical")
    out.append(MetaFeature("ClassEntropy", "information", "Entropy of the class in bits.", True))
    out += _summaries("AttributeEntropy", "", "entropies (bits) of nominal predictors", "information")
    out += _summaries("MutualInformation", "", "mutual information (bits) of nominal predictors with the class", "information")
    out.append(MetaFeature("EquivalentNumberOfAtts", "information", "ClassEntropy / MeanMutualInformation; NaN if MI <= 0.", True))
    out.append(MetaFeature("MeanNoiseToSignalRatio", "information", "(MeanAttributeEntropy - MeanMutualInformation) / MeanMutualInformation.", True))
    models = {
        "NaiveBayes": "naive Bayes (Weka estimators)",
        "DecisionStump": "a one-split decision stump with a missing-value branch",
        "kNN1N": "1-nearest-neighbour (range-normalised)",
    }
    measures = {
        "AUC": "class-weighted one-vs-rest AUC",
        "ErrRate": "error rate",
        "Kappa": "Cohen's kappa",
    }
    for model, what in models.items():
        for measure, m in measures.items():
            out.append(MetaFeature(f"{model}{measure}", "landmarker", f"10-fold CV {m} of {what} on the landmarker sample.", True))
    extras = [
        ("ms_LandmarkerSampleSize", "landmarker", "Rows of the stratified sample the landmarkers (and PCA features) used."),
        ("ms_NumberOfPredictors", "extra", "Attributes excluding the target."),
        ("ms_LogNumberOfInstances", "extra", "Natural log of the number of rows."),
        ("ms_LogNumberOfPredictors", "extra", "Natural log of the number of predictors; NaN with none."),
        ("ms_LogPredictorsPerInstance", "extra", "Natural log of predictors / rows."),
        ("ms_ClassImbalanceRatio", "extra", "Majority class size / minority class size (>= 1)."),
        ("ms_PCAFractionOfComponentsFor95PercentVariance", "extra", "Principal components of standardised numeric attributes needed for 95% of the variance, as a fraction of those attributes."),
        ("ms_PCAFirstComponentVarianceFraction", "extra", "Share of the standardised numeric variance on the first principal component."),
        ("ms_MeanAbsCorrelationOfNumericAtts", "extra", "Mean absolute Pearson correlation over pairs of numeric attributes."),
    ]
    out += [MetaFeature(n, g, d, False) for n, g, d in extras]
    return out


def _summaries(stem: str, suffix: str, what: str, group: str) -> list[MetaFeature]:
    labels = {"Mean": "Mean", "Min": "Minimum", "Max": "Maximum",
              "Quartile1": "First quartile", "Quartile2": "Median", "Quartile3": "Third quartile"}
    return [
        MetaFeature(f"{stat}{stem}{suffix}", group, f"{label} of the {what}; NaN if there are none.", True)
        for stat, label in labels.items()
    ]


METAFEATURES: dict[str, MetaFeature] = {m.name: m for m in _entries()}
