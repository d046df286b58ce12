"""benchmarks/compare.py's efficiency bookkeeping: what its yardstick compares must match."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from metasel.kb import COPY_STATISTICS, LABEL_COUNTS
from metasel.search import make_splits

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "compare.py"


@pytest.fixture(scope="module")
def compare():
    spec = importlib.util.spec_from_file_location("compare_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reseeded_cold_search_keeps_the_cv_splits_of_its_seed(compare):
    y = np.repeat([3, 7, 9], [40, 25, 15])  # labels as the estimator receives them
    fixed = list(compare.fixed_auto_splits(y, seed=1).split(np.zeros((len(y), 1)), y))
    codes = np.unique(y, return_inverse=True)[1]
    expected = make_splits(codes, "auto", 1)
    assert len(fixed) == len(expected)
    for (_, test), (_, want) in zip(fixed, expected, strict=True):
        assert np.array_equal(np.sort(test), np.sort(want))
    other = make_splits(codes, "auto", 1 + compare.RESEED)
    assert not np.array_equal(np.sort(fixed[0][1]), np.sort(other[0][1]))


def test_efficiency_table_counts_trials_to_reach_the_cold_best_for_every_rival(compare):
    def row(method, variant, scores):
        return {"dataset": "d", "method": method, "variant": variant, "seed": 0,
                "n_trials": len(scores), "n_probes": 0, "trial_scores": json.dumps(scores),
                "error": ""}

    frame = pd.DataFrame([row("optuna_cold", "cold", [0.7, 0.9, 0.8]),
                          row("metasel", "v", [0.8965, None, 0.9]),
                          row("optuna_cold_reseeded", compare.REFERENCE, [0.5, 0.6])])
    table = compare.efficiency_table(frame).set_index("variant")
    assert table.at["v", "reach"] == 3
    assert table.at[compare.REFERENCE, "reach"] == np.inf
    # the first trial is within 0.005 of the cold best (0.9), not within 0.001
    assert table.at["v", "reach_tol_0.005"] == 1
    assert table.at["v", "reach_tol_0.001"] == 3


@pytest.fixture
def held_out(compare, monkeypatch) -> list[list[str]]:
    """The dataset lists the held-out meta-model is asked to leave out; no job runs."""
    asked: list[list[str]] = []
    monkeypatch.setattr(compare, "holdout_meta_model",
                        lambda datasets, out: (asked.append(datasets), (out, []))[1])
    monkeypatch.setattr(compare, "_run_jobs", lambda *args: None)
    return asked


def test_rerunning_a_subset_uses_the_meta_model_that_holds_out_every_benchmark_dataset(
        compare, tmp_path, held_out):
    args = compare.parse_args(["--datasets", "cmc", "--budgets", "10", "--seeds", "0",
                               "--out", str(tmp_path)])
    compare.run_all(args)
    assert held_out == [list(compare.DATASETS)]


def test_kb_tables_that_look_like_a_benchmark_table_are_held_out_whatever_their_group(compare):
    """Its shape (smoothmeth_quake is quake; sick is hypothyroid with two columns less), its
    columns' statistics at another size (adult-census is part of adult) or its labels under
    other columns (cpu_small is 12 of cpu_act's columns)."""
    stats = dict.fromkeys([*COPY_STATISTICS, *LABEL_COUNTS], np.nan)
    adult = {**stats, **{s: 1.0 + i for i, s in enumerate(COPY_STATISTICS)}}
    cpu = {**stats, **dict(zip(LABEL_COUNTS, [8192, 2, 5715, 2477], strict=True))}
    known = pd.DataFrame([
        {"dataset_id": "openml:772", "group": "quake", "n_rows": 2178, "n_features": 3},
        {"dataset_id": "arff:quake", "group": "quake", "n_rows": 2178, "n_features": 3},
        {"dataset_id": "arff:iris", "group": "iris", "n_rows": 150, "n_features": 4},
        {"dataset_id": "a:sick", "group": "sick", "n_rows": 3772, "n_features": 29},
        {"dataset_id": "openml:1119", "group": "adultcensus", "n_rows": 32561, "n_features": 14},
        {"dataset_id": "openml:735", "group": "cpusmall", "n_rows": 8192, "n_features": 12}])
    known = pd.concat([known.assign(n_classes=[2, 2, 3, 2, 2, 2]),
                       pd.DataFrame([stats] * 4 + [adult, cpu])], axis=1)
    tables = [SimpleNamespace(group="smoothmethquake", shape=(2178, 3)),
              SimpleNamespace(group="sick", shape=(3772, 27)),
              SimpleNamespace(group="adult", shape=(48842, 14)),
              SimpleNamespace(group="cpuact", shape=(8192, 21))]
    profiles = pd.DataFrame([{**stats, "n_classes": 2, "n_features": 3},
                             {**stats, "n_classes": 2, "n_features": 27},
                             {**adult, "n_classes": 2, "n_features": 14},
                             {**cpu, "n_classes": 2, "n_features": 21}])
    out, alike = compare.kb_rows_to_hold_out(known, tables, profiles)
    assert out.tolist() == [True, True, False, True, True, True]
    assert alike.tolist() == [True, True, False, False, True, True]


def test_a_later_run_into_the_same_folder_reuses_its_meta_model_or_refuses_new_groups(
        compare, tmp_path, monkeypatch, held_out):
    """All rows of one folder come from one meta-model: a rerun does not retrain (nor
    overwrite ``excluded.json``), and datasets that meta-model knows are refused, also
    through a copy it was trained with before that copy was recognised."""
    monkeypatch.setattr(compare, "load_benchmark_dataset",
                        lambda name: SimpleNamespace(group=name.replace(".", ""), shape=(690, 15)))
    kb = pd.DataFrame({"dataset_id": ["arff:credit.a", "keel:australian"],
                       "group": ["credita", "credita"], "n_rows": [690, 690],
                       "n_features": [15, 14], "n_classes": [2, 2]})
    monkeypatch.setattr(compare, "kb_datasets", lambda: kb.reindex(
        columns=[*kb.columns, *COPY_STATISTICS, *LABEL_COUNTS]))
    monkeypatch.setattr(compare, "table_profiles", lambda tables: pd.DataFrame(
        {"n_classes": 2, "n_features": 15}, index=range(len(tables))).reindex(
        columns=["n_classes", "n_features", *COPY_STATISTICS, *LABEL_COUNTS]))
    folder = tmp_path / "meta_holdout"
    (folder / compare.METRIC).mkdir(parents=True)
    record = {"groups": ["cmc", "credita"], "kb_datasets": ["arff:credit.a", "keel:australian"]}
    (folder / "excluded.json").write_text(json.dumps(record))
    argv = ["--datasets", "credit.a", "--budgets", "10", "--seeds", "0", "--out", str(tmp_path)]
    compare.run_all(compare.parse_args(argv))
    assert held_out == []
    argv[1] = "car"
    with pytest.raises(SystemExit, match="car"):
        compare.run_all(compare.parse_args(argv))
    argv[1] = "credit.a"
    (folder / "excluded.json").write_text(json.dumps({**record, "kb_datasets": ["arff:credit.a"]}))
    with pytest.raises(SystemExit, match="australian"):
        compare.run_all(compare.parse_args(argv))


def test_efficiency_mode_holds_out_its_datasets_and_refuses_a_meta_model_that_knows_them(
        compare, tmp_path, monkeypatch, held_out):
    monkeypatch.setattr(compare, "load_benchmark_dataset",
                        lambda name: SimpleNamespace(group=name.replace(".", "")))
    argv = ["--efficiency", "--datasets", "car", "--seeds", "0", "--out", str(tmp_path)]
    compare.run_efficiency(compare.parse_args(argv))
    assert held_out == [[*compare.DATASETS, "car"]]

    folder = tmp_path / "reused" / "efficiency_meta"
    (folder / compare.METRIC).mkdir(parents=True)
    (folder / "excluded.json").write_text(json.dumps({"groups": ["cmc"]}))
    argv[-1] = str(tmp_path / "reused")
    with pytest.raises(SystemExit, match="car"):
        compare.run_efficiency(compare.parse_args(argv))


def test_report_names_the_command_that_reruns_exactly_its_rows(compare, tmp_path):
    """compare.md is often rebuilt from concatenated CSVs: its command must redo those rows."""
    args = compare.parse_args(["--datasets", "car", "vote", "--budgets", "10", "30",
                               "--seeds", "0", "1", "--methods", "metasel", "lightgbm_default",
                               "--out", str(tmp_path)])
    raw = pd.DataFrame(compare.pending_jobs(args, set()))
    command = compare.rows_command(raw, tmp_path)
    assert command.startswith("python benchmarks/compare.py ")
    rerun = compare.parse_args(command.split()[2:])
    assert vars(rerun) == vars(args)
    documented = pd.DataFrame(compare.pending_jobs(compare.parse_args([]), set()))
    assert compare.rows_command(documented, compare.RESULTS) == "python benchmarks/compare.py"


@pytest.mark.parametrize("rival", [["--variant", "v7"], ["--reference"]])
def test_efficiency_report_names_the_command_that_reruns_each_variant(compare, tmp_path, rival):
    argv = ["--efficiency", *rival, "--datasets", "car", "vote", "--seeds", "1",
            "--out", str(tmp_path)]
    args = compare.parse_args(argv)
    jobs = pd.DataFrame(compare.efficiency_jobs(args, set()))
    variant = jobs.loc[jobs["method"] != "optuna_cold", "variant"].iloc[0]
    command = compare.efficiency_command(jobs[jobs["variant"] == variant], tmp_path, variant)
    assert vars(compare.parse_args(command.split()[2:])) == vars(args)


def test_outer_split_is_the_stratified_split_and_trains_on_single_row_classes(compare):
    from sklearn.model_selection import train_test_split

    y = np.repeat([0, 1, 2], [30, 12, 6])
    train, test = compare.outer_split(y, seed=3)
    rows = np.arange(len(y))
    want_train, want_test = train_test_split(rows, test_size=0.25, stratify=y, random_state=3)
    assert np.array_equal(train, want_train) and np.array_equal(test, want_test)

    y = np.append(y, 3)  # a class with one row cannot be split: it is only trained on
    train, test = compare.outer_split(y, seed=3)
    assert len(y) - 1 in train and len(y) - 1 not in test
    assert sorted(np.concatenate([train, test])) == list(range(len(y)))
    assert set(y[test]) == {0, 1, 2}


def test_multiclass_auc_is_sklearns_ovr_and_skips_classes_missing_from_the_test_part(compare):
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 20)
    proba = rng.dirichlet(np.ones(3), size=len(y))
    scores = compare._scores(y, proba, proba.argmax(axis=1), n_classes=3)
    assert scores["roc_auc"] == pytest.approx(roc_auc_score(y, proba, multi_class="ovr"))

    proba4 = np.column_stack([proba, rng.uniform(0, 0.1, len(y))])  # class 3 never in test
    scores = compare._scores(y, proba4, proba4.argmax(axis=1), n_classes=4)
    normalised = proba4 / proba4.sum(axis=1, keepdims=True)
    expected = np.mean([roc_auc_score(y == k, normalised[:, k]) for k in range(3)])
    assert scores["roc_auc"] == pytest.approx(expected)


def test_bootstrap_interval_resamples_datasets_and_keeps_unreached_medians(compare):
    reach = pd.Series([1.0, 2.0, 3.0, 4.0, np.inf, np.inf])
    datasets = pd.Series(["a", "a", "b", "b", "c", "c"])
    low, high = compare.bootstrap_interval(reach, datasets)
    assert low <= np.median(reach) <= high
    assert 1.0 <= low < 4.0 and high == np.inf  # a resample of mostly "c" is never reached
    one = compare.bootstrap_interval(pd.Series([5.0, 5.0]), pd.Series(["a", "a"]))
    assert one == (5.0, 5.0)


def test_summary_of_a_run_without_metasel_ranks_the_peers_it_has(compare):
    full = pd.DataFrame({"dataset": ["a", "a", "b", "b"], "seed": 0, "budget": 10,
                         "method": ["optuna_cold", "flaml"] * 2,
                         "roc_auc": [0.9, 0.8, 0.7, 0.75]})
    table = compare.summary(full, "roc_auc").set_index("method")
    assert table.at["optuna_cold", "mean_rank"] == 1.5
    assert set(table["metasel_w/t/l"]) == {""}


def test_summary_gives_metasels_rank_gap_and_gain_with_intervals_over_datasets(compare):
    rows = []
    for i, dataset in enumerate("abcdef"):
        for seed in (0, 1):
            # MetaSel beats FLAML everywhere, and is even with the cold search: it wins on
            # three datasets and loses on the other three by the same margin
            cold = 0.80 + (0.02 if i % 2 else -0.02)
            rows += [{"dataset": dataset, "seed": seed, "budget": 10, "method": m,
                      "roc_auc": score}
                     for m, score in (("metasel", 0.80), ("optuna_cold", cold), ("flaml", 0.70))]
    table = compare.summary(pd.DataFrame(rows), "roc_auc").set_index("method")

    def parsed(cell: str) -> tuple[float, float, float]:
        mean, interval = cell.split(" [")
        low, high = interval.rstrip("]").split(", ")
        return float(mean), float(low), float(high)

    gap, low, high = parsed(table.at["flaml", "metasel_rank_gap_90ci"])
    assert gap < 0 and high < 0  # MetaSel's better rank is certain on these rows
    gain, low, high = parsed(table.at["flaml", "metasel_gain_90ci"])
    assert gain == pytest.approx(0.1) and low == pytest.approx(0.1) == high
    gap, low, high = parsed(table.at["optuna_cold", "metasel_rank_gap_90ci"])
    assert gap == pytest.approx(0.0) and low < 0 < high  # undecided
    assert table.at["metasel", "metasel_rank_gap_90ci"] == ""


def test_flaml_is_scored_on_the_data_whatever_its_column_names(compare):
    pytest.importorskip("flaml")
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(120, 3)), columns=["char_freq_;", 'quote"', "a:b"])
    y = (X.iloc[:, 0] > 0).to_numpy().astype(int)
    model, info = compare._flaml(X, y, {"budget": 2, "seed": 0})
    assert info["n_trials"] >= 1
    assert model.predict_proba(X).shape == (120, 2)
    assert (model.predict(X) == y).mean() > 0.8


def test_a_run_of_the_defaults_alone_is_ranked_at_budget_0(compare, tmp_path):
    rows = [{"dataset": d, "method": m, "budget": 0, "seed": 0, "roc_auc": auc,
             "balanced_accuracy": auc} for d, m, auc in
            [("a", "lightgbm_default", 0.9), ("a", "random_forest_default", 0.8),
             ("b", "lightgbm_default", 0.7), ("b", "random_forest_default", 0.75)]]
    pd.DataFrame(rows).to_csv(tmp_path / "compare.csv", index=False)
    table = compare.summary(compare.comparable(tmp_path), "roc_auc").set_index("method")
    assert table["budget"].tolist() == [0, 0]
    assert table.loc["lightgbm_default", "mean_rank"] == 1.5
