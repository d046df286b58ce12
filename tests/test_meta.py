"""metasel.meta: meta-table, rankers, warm starts, probes, LODO evaluation, storage."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from metasel.exceptions import ArtifactVersionError, KnowledgeBaseError, MetaselError
from metasel.kb import KnowledgeBase
from metasel.meta import (
    KNNRanker,
    MetaModel,
    SingleBest,
    WarmStarter,
    build_meta_table,
    combine_prior_with_probes,
    combine_utilities,
    evaluate_lodo,
    greedy_portfolio,
)
from metasel.meta._evaluation import ranking_metrics
from metasel.meta._forest import ForestRanker
from metasel.meta._scaling import FeatureScaler


@dataclass
class SmallKB:
    datasets: pd.DataFrame
    evaluations: pd.DataFrame


@pytest.fixture(scope="module")
def lcdb_kb() -> SmallKB:
    """The first 30 datasets of the shipped LCDB import (real scores, real qualities)."""
    try:
        kb = KnowledgeBase.default("lcdb")
    except KnowledgeBaseError as exc:
        pytest.skip(f"the shipped LCDB knowledge base is absent: {exc}")
    ds = kb.datasets
    ds = ds[ds[kb.metafeature_columns].notna().mean(axis=1) > 0.5].head(30)
    ev = kb.evaluations
    return SmallKB(ds.reset_index(drop=True), ev[ev["dataset_id"].isin(ds["dataset_id"])])


@pytest.fixture(scope="module")
def model(lcdb_kb: SmallKB) -> MetaModel:
    return MetaModel.fit(lcdb_kb, "accuracy")


def test_meta_table_takes_each_learner_at_its_largest_training_size(lcdb_kb: SmallKB) -> None:
    table = build_meta_table(lcdb_kb, "accuracy")
    ev = lcdb_kb.evaluations
    d, learner = table.scores.index[0], table.scores.columns[0]
    rows = ev[(ev["dataset_id"] == d) & (ev["learner"] == learner)]
    expected = rows.loc[rows["train_size"].idxmax(), "accuracy"]
    assert table.scores.loc[d, learner] == pytest.approx(expected)


def test_meta_table_negates_log_loss_so_higher_is_better(lcdb_kb: SmallKB) -> None:
    table = build_meta_table(lcdb_kb, "log_loss")
    assert (table.scores.to_numpy()[~np.isnan(table.scores.to_numpy())] <= 0).all()


def test_meta_table_rejects_unknown_metric(lcdb_kb: SmallKB) -> None:
    with pytest.raises(KnowledgeBaseError, match="metric must be one of"):
        build_meta_table(lcdb_kb, "f1")


def test_scaler_logs_counts_and_imputes_missing_as_median() -> None:
    frame = pd.DataFrame({"NumberOfInstances": [100.0, 1_000.0, 10_000.0, np.nan],
                          "ClassEntropy": [0.5, 1.0, 0.9, 0.7]})
    scaler = FeatureScaler.fit(frame)
    assert scaler.log == [True, False]
    scaled = scaler.transform(frame)
    assert scaled[3, 0] == 0.0  # missing -> median -> 0 after centring
    assert scaled[1, 0] == pytest.approx(0.0)  # log(1000) is the median of the logs
    assert np.abs(scaler.transform(pd.Series({"NumberOfInstances": 1e12}))).max() <= 5.0


def test_knn_ranker_copies_the_order_of_an_identical_dataset() -> None:
    X = np.array([[0.0, 0.0], [10.0, 10.0]])
    S = np.array([[0.9, 0.5], [0.5, 0.9]])
    ranker = KNNRanker(k=1).fit(X, S)
    assert ranker.predict(np.array([[10.0, 10.0]])).argmax() == 1
    assert ranker.predict(np.array([[0.0, 0.1]])).argmax() == 0


def test_single_best_ignores_meta_features() -> None:
    S = np.array([[0.9, 0.8], [0.7, 0.69], [0.5, 0.6]])
    utility = SingleBest().fit(np.zeros((3, 1)), S).predict(np.ones((2, 1)))
    assert (utility.argmax(axis=1) == 0).all()


def test_pairwise_forest_predicts_each_learners_margin_over_the_mean_learner() -> None:
    # constant meta-features: every tree is a single leaf holding the training mean
    S = np.array([[0.90, 0.88, 0.86], [0.70, 0.72, 0.69], [0.50, 0.52, 0.48]])  # all < clip
    utility = ForestRanker(n_estimators=3).fit(np.zeros((3, 2)), S).predict(np.zeros((1, 2)))
    expected = (S - S.mean(axis=1, keepdims=True)).mean(axis=0)
    assert np.allclose(utility[0], expected, atol=1e-6)


def test_forest_clips_pairwise_differences_and_relative_scores() -> None:
    # learner 0 beats learner 1 by 0.01 on 3 datasets and collapses (-0.4) on 2
    S = np.array([[0.81, 0.80], [0.81, 0.80], [0.81, 0.80], [0.40, 0.80], [0.40, 0.80]])
    X, one = np.zeros((5, 1)), np.zeros((1, 1))
    pairwise = ForestRanker(n_estimators=3, clip=0.05).fit(X, S).predict(one)[0]
    margin = (3 * 0.01 - 2 * 0.05) / 5 / 2  # mean clipped difference, over 2 learners
    assert np.allclose(pairwise, [margin, -margin], atol=1e-6)
    relative = ForestRanker(n_estimators=3, pairwise=0.0, rel_clip=0.1).fit(X, S).predict(one)[0]
    assert np.allclose(relative, [-0.04, -0.006], atol=1e-6)


def test_ranking_metrics_are_zero_regret_and_one_ndcg_for_the_oracle() -> None:
    S = np.array([[0.9, 0.8, np.nan, 0.7], [0.1, 0.3, 0.2, 0.0]])
    m = ranking_metrics(S.copy(), S)
    assert np.allclose(m["best_of_top1"], 0) and np.allclose(m["ndcg3"], 1)
    assert np.allclose(m["spearman"], 1)
    worst = ranking_metrics(-np.nan_to_num(S), S)
    assert worst["best_of_top1"][0] == pytest.approx(0.2)


def test_lodo_never_trains_on_the_held_out_group(lcdb_kb: SmallKB) -> None:
    table = build_meta_table(lcdb_kb, "accuracy")
    seen: list[np.ndarray] = []

    class Spy(SingleBest):
        def fit(self, X: np.ndarray, S: np.ndarray) -> Spy:
            seen.append(S.copy())
            return super().fit(X, S)

    evaluate_lodo(table, methods={"spy": Spy}, probes=False)
    groups = table.groups
    unique_groups = pd.unique(groups)
    assert len(seen) == len(unique_groups)
    S = table.scores.to_numpy()
    for group, train_S in zip(unique_groups, seen, strict=True):
        held = S[groups == group]
        assert len(train_S) == len(S) - len(held)
        for row in held:  # no held-out row of scores appears among the training rows
            same = np.all(np.isclose(train_S, row, equal_nan=True), axis=1)
            assert not same.any(), f"group {group} leaked into its own training fold"


def test_lodo_can_query_held_out_datasets_without_some_metafeatures(lcdb_kb: SmallKB) -> None:
    """As a fit ranks a table whose landmarkers it had no time for: those columns are
    missing (scaled median 0) for the held-out datasets only."""
    table = build_meta_table(lcdb_kb, "accuracy")
    column = next(c for c in table.features.columns if table.features[c].nunique() > 3)
    calls: list[tuple[np.ndarray, np.ndarray]] = []

    class Spy(SingleBest):
        def fit(self, X: np.ndarray, S: np.ndarray) -> Spy:
            self.train_X = X
            return super().fit(X, S)

        def predict(self, X: np.ndarray) -> np.ndarray:
            calls.append((self.train_X, X))
            return super().predict(X)

    def spied(unmeasured):
        calls.clear()
        evaluate_lodo(table, methods={"spy": Spy}, probes=False, unmeasured=unmeasured)
        return list(calls)

    measured, missing = spied(()), spied([column])
    j = FeatureScaler.fit(table.features).columns.index(column)
    assert all((X[:, j] == 0).all() for _, X in missing)
    assert any((X[:, j] != 0).any() for _, X in measured)
    for (train_a, test_a), (train_b, test_b) in zip(measured, missing, strict=True):
        np.testing.assert_array_equal(train_a, train_b)  # training datasets keep it
        np.testing.assert_array_equal(np.delete(test_a, j, axis=1), np.delete(test_b, j, axis=1))


def test_lodo_reports_every_method_with_single_best_as_zero_gap(lcdb_kb: SmallKB) -> None:
    result = evaluate_lodo(lcdb_kb, "accuracy")
    summary = result.summary.set_index("method")
    assert {"single_best", "average_rank", "knn10", "lightgbm", "meta_model"} <= set(summary.index)
    assert summary.loc["single_best", "closed_gap"] == pytest.approx(0.0)
    assert (summary["best_of_top5"] <= summary["best_of_top1"] + 1e-12).all()
    assert {"probe_only", "anchor", "probed"} <= set(result.probes["method"]) | set(result.probes.columns)


def test_probes_of_every_learner_at_full_weight_pick_the_best_probe() -> None:
    prior = np.array([[0.0, -0.05, -0.1]])
    probes = np.array([[0.70, 0.80, np.nan]])
    U = combine_utilities(prior, probes, prior_weight=0.0)
    assert U.argmax() == 1
    assert U[0, 2] < U[0, 0]  # unprobed learners come after probed ones
    assert combine_utilities(prior, probes, prior_weight=10.0).argmax() == 0


def test_combine_prior_with_probes_reorders_recommendations() -> None:
    @dataclass(frozen=True)
    class Rec:
        learner: str
        expected_score: float
        probe_score: float | None = None

    recs = [Rec("a", 0.90), Rec("b", 0.89), Rec("c", 0.80)]
    out = combine_prior_with_probes(recs, {"a": 0.70, "b": 0.85})
    assert [r.learner for r in out] == ["b", "a", "c"]
    assert out[0].probe_score == 0.85 and out[2].probe_score is None
    with pytest.raises(MetaselError, match="recommended learners"):
        combine_prior_with_probes(recs, {"zzz": 0.5})


def test_greedy_portfolio_covers_datasets_with_complementary_configs() -> None:
    # config 0 is best on dataset 0, config 1 on dataset 1, config 2 mediocre on both
    relative = np.array([[0.0, -0.5, -0.1], [-0.5, 0.0, -0.1]])
    assert greedy_portfolio(relative, 2) == [2, 0]
    assert greedy_portfolio(relative, 3)[:1] == [2]


def test_warm_starter_proposes_neighbour_bests_then_portfolio_without_duplicates() -> None:
    configs = pd.DataFrame({
        "dataset_id": ["d1", "d1", "d2", "d2", "d3", "d3"],
        "learner": "lightgbm",
        "config_id": ["c1", "c2", "c1", "c2", "c1", "c3"],
        "params": [json.dumps({"num_leaves": v}) for v in (31, 7, 31, 7, 31, 63)],
        "score": [0.9, 0.8, 0.7, 0.75, 0.6, 0.65],
    })
    starter = WarmStarter.fit(configs)
    proposed = starter.propose("lightgbm", ["d3", "d2"], n=10)
    assert proposed[0] == "c3"  # the nearest dataset's best
    assert len(proposed) == len(set(proposed)) == 3
    assert starter.params["c3"] == {"num_leaves": 63}


def test_first_trials_are_a_complementary_set_across_learners_of_the_nearest_datasets() -> None:
    # d1, d2 like lightgbm's c_lgb; d3, d4 like rbf_svc's c_svc; c_mid is second best everywhere
    # and knn's c_knn is best on d5, a dataset that is not a neighbour
    rows = [("d1", "lightgbm", "c_lgb", 0.95), ("d2", "lightgbm", "c_lgb", 0.95),
            ("d3", "lightgbm", "c_lgb", 0.60), ("d4", "lightgbm", "c_lgb", 0.60),
            ("d1", "rbf_svc", "c_svc", 0.60), ("d2", "rbf_svc", "c_svc", 0.60),
            ("d3", "rbf_svc", "c_svc", 0.95), ("d4", "rbf_svc", "c_svc", 0.95),
            *[(d, "lightgbm", "c_mid", 0.90) for d in ("d1", "d2", "d3", "d4")],
            ("d5", "knn", "c_knn", 0.99), ("d5", "lightgbm", "c_lgb", 0.5)]
    configs = pd.DataFrame(rows, columns=["dataset_id", "learner", "config_id", "score"])
    configs["params"] = "{}"
    starter = WarmStarter.fit(configs)
    near = ["d1", "d2", "d3", "d4"]
    assert starter.first_trials(["lightgbm", "rbf_svc", "knn"], near, 1) == ["c_mid"]
    # later trials cover where the first is weakest, not knn's unmeasured configuration
    first, second = starter.first_trials(["lightgbm", "rbf_svc", "knn"], near, 2)
    assert first == "c_mid" and second in {"c_lgb", "c_svc"}
    assert sorted(starter.first_trials(["lightgbm", "rbf_svc", "knn"], near, 3)) == [
        "c_lgb", "c_mid", "c_svc"]
    assert starter.first_trials(["knn"], near, 2) == []  # knn never ran on a neighbour
    assert starter.first_trials(["lightgbm"], near, 5) == ["c_mid", "c_lgb"]


def test_first_trials_prefer_a_nearly_as_good_configuration_that_fits_far_faster() -> None:
    # on every neighbour c_big beats c_small by 0.002 but takes 100 times as long
    rows = [(d, "random_forest", cid, score, seconds) for d in ("d1", "d2", "d3")
            for cid, score, seconds in (("c_big", 0.90, 10.0), ("c_small", 0.898, 0.1),
                                        ("c_bad", 0.70, 0.001))]
    configs = pd.DataFrame(rows, columns=["dataset_id", "learner", "config_id", "score",
                                          "fit_time"])
    configs["params"] = "{}"
    near = ["d1", "d2", "d3"]
    # the cheap one first; the slow one still before a cheaper one that gains nothing
    assert WarmStarter.fit(configs).first_trials(["random_forest"], near, 2) == [
        "c_small", "c_big"]
    # a meta-model saved before fit times were recorded picks by score alone
    blind = WarmStarter.fit(configs.drop(columns="fit_time"))
    assert blind.first_trials(["random_forest"], near, 1) == ["c_big"]


def test_save_load_round_trip_gives_identical_predictions(model: MetaModel, lcdb_kb: SmallKB, tmp_path) -> None:
    model.save(tmp_path / "mm")
    loaded = MetaModel.load(tmp_path / "mm")
    mf = lcdb_kb.datasets.set_index("dataset_id").iloc[3]
    pd.testing.assert_frame_equal(model.rank(mf), loaded.rank(mf))
    assert loaded.fingerprint == model.fingerprint
    assert model.configurations(mf, "random_forest") == loaded.configurations(mf, "random_forest")
    assert loaded.warm.configs["fit_time"].notna().any()
    pd.testing.assert_frame_equal(model.warm.configs, loaded.warm.configs)
    assert not list(tmp_path.glob("mm/*.pkl"))


def test_corrupt_meta_model_file_names_the_file(model: MetaModel, tmp_path) -> None:
    path = model.save(tmp_path / "mm")
    (path / "forest.parquet").write_text("this is not parquet")
    with pytest.raises(KnowledgeBaseError, match="forest.parquet"):
        MetaModel.load(path)
    (path / "meta_model.json").write_text("{not json")
    with pytest.raises(KnowledgeBaseError, match="meta_model.json"):
        MetaModel.load(path)


def test_meta_model_of_another_schema_version_is_refused(model: MetaModel, tmp_path) -> None:
    path = model.save(tmp_path / "mm")
    header = json.loads((path / "meta_model.json").read_text())
    header["schema_version"] = 99
    (path / "meta_model.json").write_text(json.dumps(header))
    with pytest.raises(ArtifactVersionError, match="Rebuild"):
        MetaModel.load(path)


def test_rank_gives_intervals_around_expected_scores(model: MetaModel, lcdb_kb: SmallKB) -> None:
    mf = lcdb_kb.datasets.set_index("dataset_id").iloc[0]
    ranking = model.rank(mf)
    assert list(ranking["utility"]) == sorted(ranking["utility"], reverse=True)
    # the expected score agrees with the order users see
    assert ranking["expected_score"].is_monotonic_decreasing
    assert (ranking["low"] <= ranking["expected_score"]).all()
    assert (ranking["expected_score"] <= ranking["high"]).all()
    assert model.drivers(mf, ranking["learner"].iloc[0])
    near = model.nearest(mf, 3)
    assert near["distance"].is_monotonic_increasing and len(near) == 3


def test_default_meta_model_loads_with_a_kb_fingerprint() -> None:
    model = MetaModel.default("roc_auc")
    assert model.metric == "roc_auc" and len(model.fingerprint) == 16
    with pytest.raises(KnowledgeBaseError, match="No shipped meta-model"):
        MetaModel.default("f1")


def test_probe_is_never_the_final_score_in_disguise() -> None:
    from metasel.meta import MetaTable
    from metasel.meta._evaluation import probe_table

    ids = pd.Index(["d"], name="dataset_id")
    table = MetaTable(metric="accuracy", features=pd.DataFrame({"f": [1.0]}, index=ids),
                      scores=pd.DataFrame({"rf": [0.9]}, index=ids),
                      info=pd.DataFrame({"name": ["d"], "source": ["x"], "group": ["d"]}, index=ids),
                      configs=pd.DataFrame())
    evaluations = pd.DataFrame({"dataset_id": "d", "learner": "rf", "status": "ok",
                                "train_size": [128, 256, 400], "accuracy": [0.7, 0.8, 0.9]})
    # the final size is 400: a probe "at <= 1024 rows" may use at most 200 rows
    assert probe_table(evaluations, table, 1024)[0, 0] == pytest.approx(0.7)
    assert np.isnan(probe_table(evaluations, table, 64)[0, 0])


def test_expected_best_of_random_matches_enumeration() -> None:
    from itertools import combinations

    from metasel.meta._evaluation import _expected_best_of_random

    scores = np.array([0.1, 0.5, 0.9, 0.3])
    pairs = np.mean([max(p) for p in combinations(scores, 2)])
    assert _expected_best_of_random(scores, 2) == pytest.approx(pairs)
    assert _expected_best_of_random(scores, 1) == pytest.approx(scores.mean())


def test_warm_start_evaluation_finds_the_config_that_wins_everywhere() -> None:
    from metasel.meta import MetaTable

    ids = pd.Index([f"d{i}" for i in range(4)], name="dataset_id")
    rng = np.random.default_rng(0)
    quality = {"good": 0.0, "mid": -0.05, "bad": -0.2, "dflt": -0.1}
    rows = [
        {"dataset_id": d, "learner": "lightgbm", "config_id": c, "params": json.dumps({"p": c}),
         "score": 0.8 + q + 0.01 * i, "origin": "default" if c == "dflt" else "sampled"}
        for i, d in enumerate(ids) for c, q in quality.items()
    ]
    configs = pd.DataFrame(rows).sort_values(["dataset_id", "score"], ascending=[True, False])
    table = MetaTable(
        metric="accuracy",
        features=pd.DataFrame(rng.normal(size=(4, 3)), index=ids, columns=["a", "b", "c"]),
        scores=pd.DataFrame({"lightgbm": configs.groupby("dataset_id")["score"].max(),
                             "rf": [0.7, 0.9, 0.7, 0.9]}, index=ids),
        info=pd.DataFrame({"name": ids, "source": "x", "group": ids}, index=ids),
        configs=configs.reset_index(drop=True),
    )
    warm = evaluate_lodo(table, methods={"single_best": SingleBest}, probes=False).warmstart
    first = warm.set_index("n").loc[1]
    assert first["proposed"] == pytest.approx(0.0)
    assert first["default"] == pytest.approx(0.1)
    assert first["random"] > 0.05


def test_first_trial_evaluation_credits_a_set_that_covers_both_kinds_of_dataset() -> None:
    """Half the datasets like lightgbm's config "lgb", half rbf_svc's "svc"; 58 filler configs
    are worse everywhere. As a set, the first two trials find each dataset's best; one per
    learner does too; a single trial cannot beat 50 random configurations on every dataset."""
    from metasel.meta import MetaTable

    ids = pd.Index([f"d{i}" for i in range(8)], name="dataset_id")
    rng = np.random.default_rng(0)
    rows = []
    for i, d in enumerate(ids):
        likes_lgb = i % 2 == 0
        rows += [{"dataset_id": d, "learner": "lightgbm", "config_id": "lgb",
                  "score": 0.95 if likes_lgb else 0.7},
                 {"dataset_id": d, "learner": "rbf_svc", "config_id": "svc",
                  "score": 0.7 if likes_lgb else 0.95}]
        rows += [{"dataset_id": d, "learner": ("lightgbm", "rbf_svc")[j % 2],
                  "config_id": f"f{j}", "score": 0.6 + 0.001 * j} for j in range(58)]
    configs = pd.DataFrame(rows).assign(params="{}", origin="sampled")
    scores = configs.pivot_table(index="dataset_id", columns="learner", values="score",
                                 aggfunc="max")
    table = MetaTable(
        metric="accuracy",
        features=pd.DataFrame(rng.normal(size=(8, 3)), index=ids, columns=["a", "b", "c"]),
        scores=scores,
        info=pd.DataFrame({"name": ids, "source": "x", "group": ids}, index=ids),
        configs=configs,
    )
    first = evaluate_lodo(table, methods={"single_best": SingleBest}, probes=False).first_trials
    by = first.set_index(["method", "n"])
    assert by.loc[("first_trials", 2), "regret"] == pytest.approx(0.0)
    assert by.loc[("first_trials", 2), "beats_random"] == pytest.approx(1.0)
    assert by.loc[("round_robin", 2), "regret"] == pytest.approx(0.0)
    # left out, a dataset's kind is the minority among the others: one trial picks the other
    assert by.loc[("first_trials", 1), "regret"] == pytest.approx(0.25)
    # ... which is second best of 60: it beats 50 random ones only when they miss the best
    assert by.loc[("first_trials", 1), "beats_random"] == pytest.approx(10 / 60)
    assert by.loc[("random", 1), "regret"] > by.loc[("random", 5), "regret"] > 0
    # without meta-features, the portfolio over all training datasets also covers both kinds
    assert by.loc[("global_portfolio", 1), "regret"] == pytest.approx(0.25)
    assert by.loc[("global_portfolio", 2), "regret"] == pytest.approx(0.0)
    assert set(by.index.get_level_values("n")) == {1, 2, 3, 5, 10}
