"""MetaSelClassifier: the scikit-learn contract, mixed-type tables, bad inputs, time keeping."""

from __future__ import annotations

import json
import pickle
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
from _faulty_learners import faulty_factory
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import estimator_checks_generator
from sklearn.utils.validation import check_is_fitted

from metasel.data import load_dataset
from metasel.estimator import FIT_MARGIN_S, FIT_MARGIN_SHARE, MetaSelClassifier
from metasel.exceptions import DataError, MetaselError
from metasel.learners import get_learner
from metasel.search._schema import ColumnWarning


@dataclass
class Rec:
    learner: str
    expected_score: float = 0.9
    configurations: list = field(default_factory=list)


class FixedRecommender:
    """A stand-in meta-model: the tests of the sklearn contract must not depend on the KB."""

    def __init__(self, learners=("logistic_regression", "lightgbm")):
        self.learners = learners

    def recommend(self, dataset, *, metric, top):
        return [Rec(name) for name in self.learners]


def tiny(**overrides) -> MetaSelClassifier:
    params = dict(time_budget=10, n_trials=2, cv=2, random_state=0, ensemble_size=0,
                  meta_model=FixedRecommender(("logistic_regression",)))
    params.update(overrides)
    return MetaSelClassifier(**params)


@pytest.fixture(scope="module")
def mixed() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    n = 300
    colour = rng.choice(["red", "green", "blue"], n)
    size = rng.normal(size=n)
    size[rng.random(n) < 0.1] = np.nan
    X = pd.DataFrame({"size": size, "colour": pd.Categorical(colour),
                      "note": rng.choice(["a", "b"], n).astype(object),
                      "count": rng.integers(0, 5, n)})
    y = pd.Series(np.where((colour == "red") | (np.nan_to_num(size) > 0.5), "yes", "no"))
    return X, y


# ----------------------------------------------------------------- scikit-learn contract
FAST_CHECKS = {
    "check_estimator_cloneable", "check_estimators_unfitted", "check_fit2d_predict1d",
    "check_estimators_empty_data_messages", "check_classifiers_one_label",
    "check_classifiers_regression_target", "check_supervised_y_2d",
    "check_no_attributes_set_in_init", "check_estimators_pickle", "check_dtype_object",
    "check_complex_data", "check_dict_unchanged",
}


def _check_name(check) -> str:
    return getattr(check, "func", check).__name__


def _checks() -> list:
    """Every scikit-learn check; all but the fast, most telling ones are marked slow."""
    return [
        pytest.param(est, check, id=_check_name(check),
                     marks=() if _check_name(check) in FAST_CHECKS else pytest.mark.slow)
        for est, check in estimator_checks_generator(tiny(), legacy=True)
    ]


@pytest.mark.parametrize(("estimator", "check"), _checks())
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_clone_keeps_params_and_pickle_keeps_predictions():
    X, y = make_classification(n_samples=120, n_features=5, random_state=0)
    model = tiny().fit(X, y)
    copy = clone(model).get_params()
    assert {k: v for k, v in copy.items() if k != "meta_model"} == {
        k: v for k, v in model.get_params().items() if k != "meta_model"}
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    assert restored.study_.best_value == model.study_.best_value


def test_works_inside_pipeline_cross_val_score_and_grid_search():
    X, y = make_classification(n_samples=120, n_features=5, random_state=0)
    pipe = make_pipeline(StandardScaler(), tiny(n_trials=1))
    scores = cross_val_score(pipe, X, y, cv=2)
    assert scores.shape == (2,) and np.all(scores > 0.6)
    grid = GridSearchCV(tiny(n_trials=1), {"metric": ["roc_auc", "accuracy"]}, cv=2).fit(X, y)
    assert grid.best_params_["metric"] in {"roc_auc", "accuracy"}
    check_is_fitted(grid.best_estimator_)


def test_fitted_attributes_describe_the_search(mixed):
    X, y = mixed
    model = tiny(n_trials=3, meta_model=FixedRecommender()).fit(X, y)
    assert list(model.classes_) == ["no", "yes"]
    assert model.n_features_in_ == 4
    assert list(model.feature_names_in_) == ["size", "colour", "note", "count"]
    board = model.leaderboard_
    assert {"learner", "configuration", "score", "time", "source"} <= set(board.columns)
    assert board["source"].iloc[0] == "warm-start" and len(board) == 3
    assert (board.loc[board["status"] == "ok", "n_folds"] == 2).all()  # cv=2, used in full
    assert model.best_params_["learner"] in {"logistic_regression", "lightgbm"}
    assert model.best_score_ == pytest.approx(board["score"].max())
    assert len(model.recommendations_) == 2 and len(model.study_.trials) == 3
    assert model.score(X, y) > 0.8


def test_any_hashable_labels_are_returned_in_sorted_order():
    X, y = make_classification(n_samples=150, n_features=5, n_classes=3, n_informative=3,
                               random_state=0)
    labels = np.array([10, 2, 7])[y]
    model = tiny().fit(X, labels)
    assert list(model.classes_) == [2, 7, 10]
    assert set(model.predict(X)) <= {2, 7, 10}
    assert model.predict_proba(X).shape == (150, 3)


def test_probes_run_on_larger_tables_and_appear_in_the_leaderboard():
    X, y = make_classification(n_samples=1200, n_features=6, random_state=0)
    model = tiny(n_trials=2, meta_model=FixedRecommender(("logistic_regression", "gaussian_nb")))
    model.fit(X, y)
    assert (model.leaderboard_["source"] == "probe").any()


# ------------------------------------------------------------------- predict-time schema
@pytest.fixture(scope="module")
def fitted(mixed) -> MetaSelClassifier:
    X, y = mixed
    return tiny(n_trials=1).fit(X, y)


def test_predict_accepts_columns_in_another_order(mixed, fitted):
    X, model = mixed[0], fitted
    reordered = X[["count", "note", "colour", "size"]]
    np.testing.assert_array_equal(model.predict_proba(reordered), model.predict_proba(X))


def test_predict_drops_extra_columns_with_a_warning(mixed, fitted):
    X, model = mixed[0], fitted
    with pytest.warns(ColumnWarning, match="extra"):
        proba = model.predict_proba(X.assign(extra=1.0))
    np.testing.assert_array_equal(proba, model.predict_proba(X))


def test_predict_names_missing_columns(mixed, fitted):
    X, model = mixed[0], fitted
    with pytest.raises(DataError, match="missing:\n- colour"):
        model.predict(X.drop(columns=["colour"]))


def test_predict_treats_unseen_categories_as_missing(mixed, fitted):
    X, model = mixed[0], fitted
    new = X.head(5).astype({"colour": object})
    new.loc[new.index[0], "colour"] = "purple"
    with pytest.warns(ColumnWarning, match="'colour': 1"):
        proba = model.predict_proba(new)
    assert np.isfinite(proba).all()


@pytest.mark.parametrize("dtype", ["datetime64[ns]", "datetime64[s]", "datetime64[ns, Europe/Paris]"])
def test_date_and_duration_columns_are_seconds_at_fit_and_at_predict(dtype):
    rng = np.random.default_rng(0)
    day = pd.Series(pd.date_range("2024-01-01", periods=80, freq="D", tz="UTC"))
    day = day.dt.tz_convert("Europe/Paris") if "Paris" in dtype else day.dt.tz_localize(None)
    X = pd.DataFrame({"day": day.astype(dtype), "wait": pd.to_timedelta(rng.integers(0, 9, 80), unit="h"),
                      "size": rng.normal(size=80)})
    y = np.where(np.arange(80) < 40, "early", "late")
    model = tiny(n_trials=1).fit(X, y)
    np.testing.assert_array_equal(model.predict(X.iloc[::-1]), model.predict(X)[::-1])
    cleaned = load_dataset(X.assign(y=y), target="y").X
    assert cleaned["day"].iloc[0] == pd.Timestamp("2024-01-01", tz="UTC").timestamp()
    assert cleaned["wait"].max() <= 8 * 3600


def test_a_text_date_column_is_read_the_same_way_at_predict():
    days = pd.Series(pd.date_range("2024-01-01", periods=60, freq="D").strftime("%Y-%m-%d"))
    X = pd.DataFrame({"day": days, "size": np.arange(60.0) % 7})
    y = np.where(np.arange(60) < 30, "early", "late")
    model = tiny(n_trials=1).fit(X, y)
    np.testing.assert_array_equal(model.predict(X.iloc[::-1]), model.predict(X)[::-1])


def test_fit_and_predict_do_not_mutate_the_callers_frame(mixed):
    X, y = mixed
    before = X.copy()
    tiny(n_trials=1).fit(X, y).predict(X)
    pd.testing.assert_frame_equal(X, before)


# ---------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(("y", "match"), [
    (np.zeros(20), "at least 2 classes"),
    (np.r_[np.zeros(10), np.ones(9), np.nan], "missing labels"),
])
def test_bad_labels_are_rejected_with_a_clear_error(y, match):
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match=match):
        tiny().fit(X, y)


def test_an_empty_table_is_rejected():
    with pytest.raises(ValueError, match="0 sample"):
        tiny().fit(np.empty((0, 3)), np.array([]))


@pytest.mark.parametrize(("param", "value"), [
    ("time_budget", 0), ("time_budget", "60"), ("metric", "f1"), ("n_trials", 0),
    ("cv", 1), ("ensemble_size", -1),
])
def test_invalid_parameters_are_rejected_at_fit(param, value):
    model = tiny(**{param: value})
    assert model.get_params()[param] == value, "__init__ must store parameters untouched"
    with pytest.raises(ValueError, match=f"'{param}' parameter"):
        model.fit(np.eye(4), [0, 1, 0, 1])


def test_a_missing_meta_model_file_is_a_clear_error_naming_it(tmp_path):
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    missing = tmp_path / "no-such-meta-model"
    with pytest.raises(MetaselError, match="no-such-meta-model"):
        tiny(meta_model=str(missing)).fit(X, y)


def test_a_corrupt_meta_model_file_is_a_clear_error_naming_it(tmp_path):
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    folder = tmp_path / "meta"
    folder.mkdir()
    (folder / "meta_model.json").write_text("{ not json")
    with pytest.raises(MetaselError, match="meta_model.json"):
        tiny(meta_model=str(folder)).fit(X, y)


# -------------------------------------------------------------------------- time keeping
def test_time_budget_is_honoured_on_a_larger_table():
    X, y = make_classification(n_samples=30_000, n_features=30, random_state=0)
    budget = 4.0
    tic = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MetaSelClassifier(time_budget=budget, random_state=0,
                                  meta_model=FixedRecommender(("random_forest", "lightgbm")))
        model.fit(X, y)
    elapsed = time.monotonic() - tic
    assert elapsed <= budget + FIT_MARGIN_S + FIT_MARGIN_SHARE * budget
    assert model.predict(X[:10]).shape == (10,)


def test_a_raising_or_hanging_learner_does_not_stop_the_fit(monkeypatch):
    import metasel.search._run as run_module

    monkeypatch.setattr(run_module, "_factory", lambda random_state: faulty_factory)
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    budget = 4.0
    tic = time.monotonic()
    model = tiny(time_budget=budget, n_trials=None,
                 meta_model=FixedRecommender(("knn", "gaussian_nb", "logistic_regression")))
    model.fit(X, y)
    assert time.monotonic() - tic <= budget + FIT_MARGIN_S + FIT_MARGIN_SHARE * budget
    assert model.best_params_["learner"] == "logistic_regression"
    statuses = set(zip(model.leaderboard_["learner"], model.leaderboard_["status"], strict=True))
    assert {("knn", "timeout"), ("gaussian_nb", "failed")} <= statuses


def test_every_model_of_the_search_fits_on_one_blas_and_openmp_thread(monkeypatch):
    """Parallelism is n_jobs folds; a model's own BLAS threads beside a busy core made an MLP
    fold 5-30x slower and cut warm starts at their deadline."""
    from threadpoolctl import threadpool_info

    import metasel.search._run as run_module

    seen: list[int] = []

    def counting_factory(name, params):
        model = get_learner(name).build(params, random_state=0)
        fit = model.fit

        def fit_and_count(*args, **kwargs):
            seen.append(max(pool["num_threads"] for pool in threadpool_info()))
            return fit(*args, **kwargs)

        model.fit = fit_and_count
        return model

    monkeypatch.setattr(run_module, "_factory", lambda random_state: counting_factory)
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    tiny(meta_model=FixedRecommender(("mlp",))).fit(X, y)
    assert seen and set(seen) == {1}


def test_the_shipped_meta_model_drives_a_warm_started_fit():
    X, y = make_classification(n_samples=300, n_features=6, random_state=0)
    model = MetaSelClassifier(time_budget=8, n_trials=4, random_state=0).fit(X, y)
    assert model.recommendations_, "the default path must ask the shipped meta-model"
    assert model.recommendations_[0].configurations
    assert (model.leaderboard_["source"] == "warm-start").any()


def test_landmarkers_too_slow_for_the_budget_still_give_a_warm_start(monkeypatch):
    """Before, a table whose landmarkers outlast the meta-model's share of the budget
    (5,000 x 200 at 10 s) was searched from cold."""
    module = sys.modules["metasel.recommend"]  # the package exports a function of that name

    monkeypatch.setattr(module, "extract_landmarkers", lambda dataset, *, random_state: time.sleep(60))
    X, y = make_classification(n_samples=300, n_features=6, random_state=0)
    start = time.perf_counter()
    model = MetaSelClassifier(time_budget=6, n_trials=3, random_state=0).fit(X, y)
    assert time.perf_counter() - start <= 6 + FIT_MARGIN_S + FIT_MARGIN_SHARE * 6
    assert model.recommendations_ and (model.leaderboard_["source"] == "warm-start").any()


def test_remember_appends_the_fits_evaluations_to_a_local_kb(tmp_path):
    from metasel.kb import KnowledgeBase

    X, y = make_classification(n_samples=120, n_features=5, random_state=0)
    kb_path = tmp_path / "kb"
    model = tiny(n_trials=2, remember=str(kb_path)).fit(X, y)
    kb = KnowledgeBase.open(kb_path)
    assert model.remembered_ == 2 and len(kb.evaluations) == 2
    assert set(kb.evaluations["learner"]) == {"logistic_regression"}
    np.testing.assert_allclose(sorted(kb.evaluations["roc_auc"]),
                               sorted(model.leaderboard_["score"]))
    assert len(kb.datasets) == 1 and kb.datasets["n_rows"].iloc[0] == 120
    tiny(n_trials=2, remember=str(kb_path)).fit(X, y)
    assert len(KnowledgeBase.open(kb_path).datasets) == 1, "the same table is stored once"


def test_callback_reports_progress_after_every_trial():
    X, y = make_classification(n_samples=120, n_features=5, random_state=0)
    events = []
    tiny(n_trials=3, callback=events.append).fit(X, y)
    assert [e["n_trials"] for e in events] == [1, 2, 3]
    assert events[-1]["best_score"] >= events[0]["best_score"]
    assert all(e["remaining"] >= 0 for e in events)


def test_a_callback_returning_true_stops_the_search():
    X, y = make_classification(n_samples=120, n_features=5, random_state=0)
    events = []
    model = tiny(n_trials=6, callback=lambda e: events.append(e) or e["n_trials"] == 2).fit(X, y)
    assert len(events) == 2 and (model.leaderboard_["source"] != "probe").sum() == 2
    assert model.best_estimator_ is not None


def test_a_metric_without_its_own_shipped_meta_model_still_starts_warm():
    X, y = make_classification(n_samples=150, n_features=5, random_state=0)
    model = MetaSelClassifier(time_budget=6, n_trials=2, cv=2, metric="balanced_accuracy",
                              random_state=0).fit(X, y)
    assert model.recommendations_ and model.leaderboard_["source"].iloc[0] == "warm-start"


@pytest.mark.parametrize(("X", "y", "match"), [
    (pd.DataFrame([[1, 2], [3, 4], [5, 6], [7, 8]], columns=["a", "a"]), [0, 1, 0, 1],
     "unique"),
    (pd.DataFrame({"c": [1.0] * 6, "d": [np.nan] * 6}), [0, 1] * 3, "No usable feature"),
    (np.arange(12.0).reshape(6, 2), [0.1, 0.5, 0.2, 0.7, 0.9, 0.3], "continuous"),
    (np.arange(6.0).reshape(3, 2), [0, 1], "same number of samples"),
])
@pytest.mark.filterwarnings("ignore::metasel.data.DataWarning")  # dropped columns come first
def test_unusable_tables_are_rejected_before_any_search(X, y, match):
    with pytest.raises(ValueError, match=match):
        tiny().fit(X, y)


@pytest.mark.parametrize("ensemble_size", [0, 10])
def test_leaderboard_marks_the_trials_the_final_model_is_made_of(ensemble_size):
    X, y = make_classification(n_samples=300, n_features=6, random_state=1)
    model = MetaSelClassifier(time_budget=10, n_trials=6, cv=3, random_state=0,
                              ensemble_size=ensemble_size).fit(X, y)
    marked = model.leaderboard_[model.leaderboard_["in_final_model"]]
    assert len(marked) == len(model.ensemble_) >= 1
    assert set(marked["source"]) <= {"warm-start", "search"}, "probes are never refitted"
    configurations = {(m["learner"], json.dumps(m["params"], sort_keys=True, default=str))
                      for m in model.ensemble_}
    assert set(zip(marked["learner"], marked["configuration"], strict=True)) == configurations
    if model.final_model_kind_ == "refit":
        assert marked["learner"].iloc[0] == model.best_params_["learner"]
