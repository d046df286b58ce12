"""Behaviour of extract_metafeatures on small real and hand-made tables."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn import datasets as skdata
from sklearn.metrics import mutual_info_score

from metasel.data import Dataset
from metasel.exceptions import DataError
from metasel.metafeatures import METAFEATURES, extract_landmarkers, extract_metafeatures
from metasel.metafeatures._landmarkers import LANDMARKER_MAX_ROWS

NOMINAL_STATS = [n for n in METAFEATURES if n.endswith(("AttributeEntropy", "MutualInformation"))]
NUMERIC_STATS = [n for n in METAFEATURES if n.endswith("OfNumericAtts")]


def make(X: pd.DataFrame, y, name: str = "t") -> Dataset:
    y = pd.Series(pd.Categorical(y), name="class")
    return Dataset(X=X, y=y, name=name, source="frame", source_id=name, group=name)


def sklearn_set(loader) -> Dataset:
    bunch = loader(as_frame=True)
    X = bunch.data.astype(np.float64)
    return make(X, bunch.target.astype(str), loader.__name__)


@pytest.fixture(scope="module")
def mixed() -> Dataset:
    rng = np.random.default_rng(1)
    n = 300
    y = rng.integers(0, 3, n)
    X = pd.DataFrame({
        "a": y + rng.normal(size=n),
        "b": rng.exponential(size=n),
        "c": pd.Categorical.from_codes(np.where(rng.random(n) < 0.1, -1, y % 2), ["no", "yes"]),
        "d": pd.Categorical.from_codes(rng.integers(0, 4, n), ["p", "q", "r", "s"]),
    })
    X.loc[[3, 7], "a"] = np.nan
    return make(X, np.array(["x", "y", "z"])[y], "mixed")


def test_output_is_float_series_in_registry_order(mixed):
    mf = extract_metafeatures(mixed)
    assert list(mf.index) == list(METAFEATURES)
    assert mf.dtype == np.float64
    assert not np.isinf(mf.to_numpy()).any()


def test_without_landmarkers_only_their_scores_are_missing_and_can_be_added_later(mixed):
    full = extract_metafeatures(mixed, random_state=3)
    cheap = extract_metafeatures(mixed, random_state=3, landmarkers=False)
    scores = [n for n, m in METAFEATURES.items()
              if m.group == "landmarker" and n != "ms_LandmarkerSampleSize"]
    assert len(scores) == 9 and cheap[scores].isna().all() and full[scores].notna().all()
    pd.testing.assert_series_equal(cheap.drop(scores), full.drop(scores))
    cheap.update(extract_landmarkers(mixed, random_state=3))
    pd.testing.assert_series_equal(cheap, full)


def test_registry_entries_are_documented_and_prefixed():
    groups = {"simple", "statistical", "information", "landmarker", "extra"}
    for name, entry in METAFEATURES.items():
        assert entry.group in groups and entry.description
        assert entry.openml == (not name.startswith("ms_"))


def test_counts_follow_openml_conventions(mixed):
    mf = extract_metafeatures(mixed)
    assert mf["NumberOfInstances"] == 300
    assert mf["NumberOfFeatures"] == 5  # four predictors and the target
    assert mf["NumberOfNumericFeatures"] == 2
    assert mf["NumberOfSymbolicFeatures"] == 3  # target counts as symbolic
    assert mf["NumberOfBinaryFeatures"] == 1  # 'c' (declared 2 values); the target has 3
    assert mf["PercentageOfSymbolicFeatures"] == pytest.approx(60.0)
    assert mf["Dimensionality"] == pytest.approx(5 / 300)
    n_missing = int(mixed.X["c"].isna().sum()) + 2
    assert mf["NumberOfMissingValues"] == n_missing
    assert mf["PercentageOfMissingValues"] == pytest.approx(100 * n_missing / (300 * 5))
    assert mf["NumberOfInstancesWithMissingValues"] == int(mixed.X.isna().any(axis=1).sum())
    counts = mixed.y.value_counts()
    assert mf["MajorityClassSize"] == counts.max() and mf["MinorityClassSize"] == counts.min()
    assert mf["NumberOfFeaturesAfterBinarization"] == 2 + 2 + 4
    assert mf["MaxNominalAttDistinctValues"] == 4 and mf["MinNominalAttDistinctValues"] == 2


def test_autocorrelation_counts_class_changes_in_row_order():
    X = pd.DataFrame({"a": np.arange(6.0)})
    mf = extract_metafeatures(make(X, ["a", "a", "b", "b", "b", "a"]))
    assert mf["AutoCorrelation"] == pytest.approx(3 / 5)


def test_numeric_statistics_match_bias_corrected_moments(mixed):
    mf = extract_metafeatures(mixed)
    cols = [mixed.X[c].dropna().to_numpy() for c in ("a", "b")]
    means = [c.mean() for c in cols]
    skews = [stats.skew(c, bias=False) for c in cols]
    kurts = [stats.kurtosis(c, bias=False) for c in cols]
    stds = [c.std(ddof=1) for c in cols]
    assert mf["MeanMeansOfNumericAtts"] == pytest.approx(np.mean(means))
    assert mf["MaxSkewnessOfNumericAtts"] == pytest.approx(max(skews))
    assert mf["MinKurtosisOfNumericAtts"] == pytest.approx(min(kurts))
    assert mf["MaxStdDevOfNumericAtts"] == pytest.approx(max(stds))


def test_quartiles_use_commons_math_positions():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({f"x{j}": rng.normal(loc=j, size=50) for j in range(5)})
    mf = extract_metafeatures(make(X, rng.integers(0, 2, 50)))
    means = np.sort(X.mean().to_numpy())  # positions 0.25 * 6 = 1.5 -> halfway between 1st and 2nd
    assert mf["Quartile1MeansOfNumericAtts"] == pytest.approx((means[0] + means[1]) / 2)
    assert mf["Quartile2MeansOfNumericAtts"] == pytest.approx(means[2])


def test_constant_column_is_left_out_of_skewness_and_kurtosis():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"const": np.full(40, 2.0), "x": rng.normal(size=40)})
    mf = extract_metafeatures(make(X, rng.integers(0, 2, 40)))
    assert mf["MinSkewnessOfNumericAtts"] == mf["MaxSkewnessOfNumericAtts"]  # only 'x' counted
    assert mf["MinMeansOfNumericAtts"] != mf["MaxMeansOfNumericAtts"]  # both means counted


def test_information_theory_in_bits(mixed):
    mf = extract_metafeatures(mixed)
    assert mf["ClassEntropy"] == pytest.approx(stats.entropy(mixed.y.value_counts(), base=2))
    d = mixed.X["d"].cat.codes
    assert mf["MinMutualInformation"] <= mutual_info_score(mixed.y, d) / np.log(2) + 1e-12
    mean_mi = mf["MeanMutualInformation"]
    assert mf["EquivalentNumberOfAtts"] == pytest.approx(mf["ClassEntropy"] / mean_mi)
    assert mf["MeanNoiseToSignalRatio"] == pytest.approx((mf["MeanAttributeEntropy"] - mean_mi) / mean_mi)


def test_missing_nominal_value_counts_as_first_declared_value():
    codes = np.array([0, 0, 1, 1, -1, -1])
    X = pd.DataFrame({"c": pd.Categorical.from_codes(codes, ["u", "v"])})
    mf = extract_metafeatures(make(X, ["a", "b"] * 3))
    assert mf["MeanAttributeEntropy"] == pytest.approx(stats.entropy([4, 2], base=2))


def test_all_numeric_table_has_nan_nominal_statistics():
    mf = extract_metafeatures(sklearn_set(skdata.load_iris))
    assert mf[NOMINAL_STATS + ["EquivalentNumberOfAtts", "MeanNoiseToSignalRatio"]].isna().all()
    assert mf["MeanNominalAttDistinctValues"] == 3  # only the target is nominal
    assert mf["NumberOfSymbolicFeatures"] == 1


def test_categorical_only_table_has_nan_numeric_statistics():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    X = pd.DataFrame({"c": pd.Categorical.from_codes(y, ["n", "p"]),
                      "d": pd.Categorical.from_codes(rng.integers(0, 3, 200), list("abc"))})
    mf = extract_metafeatures(make(X, y))
    assert mf[NUMERIC_STATS].isna().all()
    assert np.isnan(mf["ms_PCAFractionOfComponentsFor95PercentVariance"])
    assert mf["MaxMutualInformation"] == pytest.approx(1.0, abs=0.01)  # 'c' is the class
    assert mf["NaiveBayesErrRate"] == 0.0 and mf["DecisionStumpAUC"] == 1.0


def test_single_feature_table():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 100)
    mf = extract_metafeatures(make(pd.DataFrame({"x": y * 3.0 + rng.normal(size=100)}), y))
    assert mf["NumberOfFeatures"] == 2
    assert mf["ms_PCAFractionOfComponentsFor95PercentVariance"] == 1.0
    assert np.isnan(mf["ms_MeanAbsCorrelationOfNumericAtts"])
    assert mf["NaiveBayesAUC"] > 0.9


@pytest.mark.parametrize("loader", [skdata.load_iris, skdata.load_wine, skdata.load_breast_cancer])
def test_real_data_binary_and_multiclass(loader):
    ds = sklearn_set(loader)
    mf = extract_metafeatures(ds)
    assert mf["NumberOfInstances"] == len(ds.y) and mf["NumberOfClasses"] == ds.n_classes
    assert mf["ClassEntropy"] <= np.log2(ds.n_classes) + 1e-12
    for model in ("NaiveBayes", "DecisionStump", "kNN1N"):
        assert 0.5 < mf[f"{model}AUC"] <= 1.0
        assert 0.0 < mf[f"{model}Kappa"] <= 1.0
    assert mf["NaiveBayesErrRate"] < 0.12 and mf["kNN1NErrRate"] < 0.12
    assert mf["ms_LandmarkerSampleSize"] == len(ds.y)


def test_large_table_uses_bounded_stratified_sample_deterministically():
    rng = np.random.default_rng(0)
    n = LANDMARKER_MAX_ROWS * 2 + 7
    y = np.where(rng.random(n) < 0.002, "rare", np.where(rng.random(n) < 0.5, "a", "b"))
    X = pd.DataFrame({"x": rng.normal(size=n) + (y == "a"), "z": rng.normal(size=n)})
    ds = make(X, y)
    first, again = extract_metafeatures(ds, random_state=3), extract_metafeatures(ds, random_state=3)
    pd.testing.assert_series_equal(first, again)
    assert first["ms_LandmarkerSampleSize"] <= LANDMARKER_MAX_ROWS
    assert first["NumberOfInstances"] == n  # exact statistics use every row
    other = extract_metafeatures(ds, random_state=4)
    assert not np.allclose(first.filter(like="NaiveBayes"), other.filter(like="NaiveBayes"))


def test_caller_frame_is_not_modified(mixed):
    before = mixed.X.copy()
    extract_metafeatures(mixed)
    pd.testing.assert_frame_equal(mixed.X, before)


def test_rejects_non_dataset_with_a_fix():
    with pytest.raises(DataError, match="from_frame"):
        extract_metafeatures(pd.DataFrame({"x": [1.0, 2.0]}))


def test_tiny_table_gives_values_or_nan_never_errors():
    X = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    mf = extract_metafeatures(make(X, ["a", "b", "a"]))
    assert np.isnan(mf["MeanKurtosisOfNumericAtts"])  # needs 4 values
    assert mf["MeanSkewnessOfNumericAtts"] == pytest.approx(0.0)
    assert mf["NumberOfInstances"] == 3


def test_docs_describe_every_registered_metafeature():
    docs = Path(__file__).resolve().parents[1] / "docs" / "metafeatures.md"
    if not docs.is_file():
        pytest.skip("docs/metafeatures.md is absent")
    text = docs.read_text()
    assert [name for name in METAFEATURES if f"`{name}`" not in text] == []


def test_degenerate_columns_give_values_without_warnings():
    X = pd.DataFrame({
        "all_missing": [np.nan] * 6,
        "one_level": pd.Categorical(["a"] * 6),
        "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    })
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mf = extract_metafeatures(make(X, ["p", "q"] * 3))
    assert mf["NumberOfMissingValues"] == 6 and mf["NumberOfNumericFeatures"] == 2
    assert mf["MaxAttributeEntropy"] == 0.0 and mf["MaxMutualInformation"] == 0.0
    assert np.isnan(mf["EquivalentNumberOfAtts"])  # mean MI is 0: undefined
    assert mf["MeanMeansOfNumericAtts"] == 3.5  # the all-missing column has no mean
    assert mf["NumberOfFeaturesAfterBinarization"] == 2  # 'x' and the one declared level


def test_stump_matches_a_depth_one_entropy_tree_on_complete_data():
    from sklearn.tree import DecisionTreeClassifier

    from metasel.metafeatures._stump import Stump
    from metasel.metafeatures._table import as_table

    table = as_table(sklearn_set(skdata.load_breast_cancer))
    rng = np.random.default_rng(0)
    train = np.sort(rng.choice(table.n_rows, 400, replace=False))
    test = np.setdiff1d(np.arange(table.n_rows), train)
    ours = Stump(table).fit_predict(train, test)
    tree = DecisionTreeClassifier(max_depth=1, criterion="entropy").fit(table.numeric[train], table.y[train])
    np.testing.assert_allclose(ours, tree.predict_proba(table.numeric[test]))


def test_stump_splits_repeated_values_and_sends_missing_values_to_their_own_branch():
    """A brute-force stump (every cut between distinct values, entropy of the three
    branches) picks the same split as the grouped counts, ties and missing values included."""
    from scipy.stats import entropy

    from metasel.metafeatures._stump import Stump
    from metasel.metafeatures._table import as_table

    rng = np.random.default_rng(3)
    n = 400
    rating = rng.integers(0, 5, n).astype(float)  # few distinct values, many ties
    y = np.where(rating + rng.normal(0, 0.8, n) > 2, "p", np.where(rng.random(n) < 0.5, "q", "r"))
    rating[rng.random(n) < 0.15] = np.nan
    X = pd.DataFrame({"rating": rating, "noise": rng.normal(size=n).round(1)})
    table = as_table(make(X, y))
    train = np.sort(rng.choice(n, 300, replace=False))
    test = np.setdiff1d(np.arange(n), train)

    def branch_counts(x, cut):
        branches = [x <= cut, x > cut, np.isnan(x)]
        return [np.bincount(table.y[train][b], minlength=table.n_classes) for b in branches]

    best = None
    for j in range(table.numeric.shape[1]):
        x = table.numeric[train, j]
        values = np.unique(table.numeric[:, j][~np.isnan(table.numeric[:, j])])
        for low in values[:-1]:
            counts = branch_counts(x, low)
            score = sum(c.sum() * entropy(c) for c in counts if c.sum())
            if best is None or score < best[0] - 1e-9:
                seen = x[~np.isnan(x)]
                cut = (seen[seen <= low].max() + seen[seen > low].min()) / 2
                best = (score, j, cut, counts)
    _, j, cut, counts = best
    x = table.numeric[test, j]
    branch = np.where(np.isnan(x), 2, np.where(x <= cut, 0, 1))
    expected = np.array([c / c.sum() for c in counts])[branch]
    np.testing.assert_allclose(Stump(table).fit_predict(train, test), expected)


def test_rejects_text_columns_with_the_fix():
    X = pd.DataFrame({"x": [1.0, 2.0], "s": ["a", "b"]})
    with pytest.raises(DataError, match="'s' \\(object\\).*from_frame"):
        extract_metafeatures(make(X, ["p", "q"]))
