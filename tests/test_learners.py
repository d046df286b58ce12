"""The zoo contract: every learner builds, fits and predicts probabilities on messy tables,
and its configurations survive JSON and Optuna's enqueue_trial."""

from __future__ import annotations

import json
import time

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.base import clone

from metasel.exceptions import LearnerError
from metasel.learners import (
    LEARNERS,
    build_pipeline,
    config_id,
    default_config,
    get_learner,
    grew_too_little,
    grow_until,
    grown_params,
)
from metasel.learners._anytime import (
    MAX_RESCALED_LEARNING_RATE,
    MIN_GROWN_SHARE,
    MIN_RESCALED_ROUNDS,
    RESCALE_BELOW,
    rescaled_rounds,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
ALL = sorted(LEARNERS)
EXPECTED = {
    "lightgbm", "hist_gradient_boosting", "random_forest", "extra_trees",
    "logistic_regression", "linear_svm", "rbf_svc", "knn", "mlp", "gaussian_nb",
    "decision_tree",
}


def _mixed_table(n_classes: int, n_rows: int = 240, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Numeric columns with NaN, a low- and a high-cardinality categorical with NaN."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, n_rows)
    X = pd.DataFrame({
        "num signal": labels + rng.normal(scale=0.7, size=n_rows),
        "num[noise]": rng.normal(size=n_rows),
        "colour": pd.Categorical(rng.choice(["red", "green", "blue"], n_rows)),
        "code": pd.Categorical(rng.choice([f"c{i}" for i in range(40)], n_rows)),
    })
    X.loc[::9, "num signal"] = np.nan
    X.loc[::11, "colour"] = np.nan
    y = pd.Series(pd.Categorical([f"class_{k}" for k in labels]), name="target")
    return X, y


def test_zoo_holds_the_eleven_specified_learners():
    assert set(LEARNERS) == EXPECTED


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("name", ALL)
def test_default_pipeline_fits_and_predicts_proba_on_mixed_table(name, n_classes):
    X, y = _mixed_table(n_classes)
    train, test = slice(0, 180), slice(180, None)
    before = X.copy()
    pipe = get_learner(name).build(get_learner(name).default_params(), random_state=0)
    pipe.fit(X.iloc[train], y.iloc[train])
    proba = pipe.predict_proba(X.iloc[test])
    assert proba.shape == (60, n_classes)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert list(pipe.classes_) == list(y.cat.categories)
    pd.testing.assert_frame_equal(X, before)  # the caller's frame is untouched


@pytest.mark.parametrize("name", ALL)
def test_pipeline_handles_unseen_category_at_predict_time(name):
    X, y = _mixed_table(2)
    pipe = get_learner(name).build({}, random_state=0).fit(X.iloc[:180], y.iloc[:180])
    unseen = X.iloc[180:].copy()
    unseen["colour"] = pd.Categorical(["purple"] * len(unseen))
    assert pipe.predict_proba(unseen).shape == (60, 2)


@pytest.mark.parametrize("name", ALL)
def test_default_config_round_trips_through_json(name):
    config = default_config(name)
    restored = json.loads(json.dumps(config))
    assert restored == config
    assert config_id(restored) == config_id(config)
    a = build_pipeline(restored, random_state=1)
    b = build_pipeline(config, random_state=1)
    assert a.get_params(deep=True).keys() == b.get_params(deep=True).keys()
    assert repr(a) == repr(b)


@pytest.mark.parametrize("name", ALL)
def test_suggested_params_are_json_and_build(name):
    learner = get_learner(name)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    X, y = _mixed_table(2, n_rows=90)
    for _ in range(3):
        trial = study.ask()
        params = learner.suggest(trial)
        assert json.loads(json.dumps(params)) == params
        assert trial.params == params  # prefix "" names Optuna params exactly as stored
        clone(learner.build(params, random_state=0))
    # the last sample must actually fit
    learner.build(params, random_state=0).fit(X, y)


@pytest.mark.parametrize("name", ALL)
def test_enqueued_default_config_is_reproduced_by_suggest(name):
    learner = get_learner(name)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    study.enqueue_trial(learner.default_params())
    trial = study.ask()
    assert learner.suggest(trial) == learner.default_params()


def test_prefix_names_every_optuna_param_and_is_stripped_from_result():
    learner = get_learner("decision_tree")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.enqueue_trial({"dt__limit_depth": True, "dt__max_depth": 4})
    trial = study.ask()
    params = learner.suggest(trial, prefix="dt__")
    assert params["max_depth"] == 4 and params["limit_depth"] is True
    assert set(trial.params) == {f"dt__{k}" for k in params}


def test_conditional_param_absent_from_default_and_ignored_when_inactive():
    learner = get_learner("rbf_svc")
    assert "gamma" not in learner.default_params()
    assert learner.build({"gamma_mode": "value", "gamma": 0.5})[-1].estimator.gamma == 0.5
    assert learner.build({"gamma": 0.5})[-1].estimator.gamma == "scale"


def test_missing_params_are_filled_with_library_defaults():
    pipe = build_pipeline({"learner": "random_forest", "params": {"n_estimators": 7}})
    model = pipe[-1]
    assert model.n_estimators == 7 and model.max_features == "sqrt" and model.n_jobs == 1


def test_unknown_learner_and_unknown_param_raise_learner_error_naming_them():
    with pytest.raises(LearnerError, match="xgboost"):
        get_learner("xgboost")
    with pytest.raises(LearnerError, match="n_trees"):
        build_pipeline({"learner": "lightgbm", "params": {"n_trees": 3}})
    with pytest.raises(LearnerError, match="'learner' key"):
        build_pipeline({"params": {}})


def test_config_id_is_stable_and_order_insensitive():
    a = {"learner": "knn", "params": {"n_neighbors": 3, "weights": "distance", "p": 1}}
    b = {"params": {"p": 1, "weights": "distance", "n_neighbors": 3}, "learner": "knn"}
    assert config_id(a) == config_id(b)
    assert config_id(a) != config_id({"learner": "knn", "params": {"n_neighbors": 4}})
    assert len(config_id(a)) == 16


def test_pipelines_accept_a_plain_numpy_array():
    X, y = _mixed_table(2)
    numeric = X[["num signal", "num[noise]"]].to_numpy()
    for name in ("lightgbm", "random_forest", "logistic_regression"):
        pipe = get_learner(name).build({}, random_state=0).fit(numeric, y.to_numpy())
        assert pipe.predict_proba(numeric).shape == (len(y), 2)


def test_same_random_state_gives_identical_probabilities():
    X, y = _mixed_table(3)
    for name in ("random_forest", "lightgbm", "mlp"):
        learner = get_learner(name)
        p1 = learner.build({}, random_state=5).fit(X, y).predict_proba(X)
        p2 = learner.build({}, random_state=5).fit(X, y).predict_proba(X)
        np.testing.assert_array_equal(p1, p2)


@pytest.mark.parametrize("name", ["linear_svm", "rbf_svc"])
def test_margin_learners_predict_the_most_probable_class(name):
    X, y = _mixed_table(3)
    pipe = get_learner(name).build({}, random_state=0).fit(X, y)
    proba = pipe.predict_proba(X)
    np.testing.assert_array_equal(pipe.predict(X), pipe.classes_[proba.argmax(axis=1)])
    assert (pipe.predict(X) == y.to_numpy()).mean() > 0.5  # margins carry the signal


def test_register_learner_refuses_to_shadow_an_entry_unless_asked():
    from metasel.learners import register_learner

    lightgbm = get_learner("lightgbm")
    with pytest.raises(LearnerError, match="already in the zoo"):
        register_learner(lightgbm)
    register_learner(lightgbm, replace=True)  # same entry back: the zoo is unchanged
    assert LEARNERS["lightgbm"] is lightgbm


SIZE = {"lightgbm": "n_estimators", "hist_gradient_boosting": "max_iter",
        "random_forest": "n_estimators", "extra_trees": "n_estimators"}


#: configurations that cannot finish in 0.5 s on 4,000 rows, and the size below which a stop
#: leaves no fair sample: a quarter of 512 members; for the MLP, 1,000 Adam updates at 20 an
#: epoch (50 epochs). Boosting at the search space's top learning rate cannot be rescaled.
BOOSTING = ("hist_gradient_boosting", "lightgbm")
TOO_BIG = {**{name: ({size: 512, **({"learning_rate": MAX_RESCALED_LEARNING_RATE}
                                     if name in BOOSTING else {})}, size, 128)
              for name, size in SIZE.items()},
           "mlp": ({"n_layers": 3, "width": 512}, "max_iter", 50)}


@pytest.mark.parametrize("name", sorted(TOO_BIG))
def test_an_anytime_learner_told_to_stop_keeps_what_it_grew(name):
    """Under a search's stop time a configuration that cannot finish ends in time with fewer
    members (epochs), a usable model, and unchanged parameters; its refit repeats the size
    it reached."""
    X, y = _mixed_table(3, n_rows=4000)
    config, size, fair = TOO_BIG[name]
    config = dict(config)
    if "class_weight" in get_learner(name).param_names:
        config["class_weight"] = "balanced"  # grown with the same weights, without warnings
    pipeline = get_learner(name).build(config, random_state=0)
    before = pipeline[-1].get_params()
    tic = time.monotonic()
    with grow_until(tic + 0.5):
        pipeline.fit(X, y)
    assert time.monotonic() - tic < 2.0
    grown = grown_params(pipeline)
    assert set(grown) == {size} and 1 <= grown[size] < before[size]
    assert grew_too_little(pipeline) == (grown[size] < fair)
    proba = pipeline.predict_proba(X.iloc[:5])
    assert proba.shape == (5, 3) and np.allclose(proba.sum(axis=1), 1.0)
    assert pipeline[-1].get_params() == before, "fit must not change parameters"
    refit = get_learner(name).build({**config, **grown}, random_state=0).fit(X.iloc[:500], y[:500])
    assert refit[-1].n_grown_ <= grown[size]


@pytest.mark.parametrize("name", BOOSTING)
def test_boosting_told_to_stop_early_trades_rounds_for_learning_rate(name):
    """Boosting that, at its pace, would reach few of its rounds starts again with the rounds
    that fit and a learning rate raised in proportion, so the product of the two (what the
    model learns) is kept; its score, record and refit belong to that configuration."""
    X, y = _mixed_table(2, n_rows=4000)
    size = SIZE[name]
    config = {size: 1024 if name == "lightgbm" else 512, "learning_rate": 0.01}
    pipeline = get_learner(name).build(config, random_state=0)
    before = pipeline[-1].get_params()
    with grow_until(time.monotonic() + 0.5):
        pipeline.fit(X, y)
    grown = grown_params(pipeline)
    assert set(grown) == {size, "learning_rate"}
    assert MIN_RESCALED_ROUNDS * MIN_GROWN_SHARE <= grown[size] < RESCALE_BELOW * config[size]
    # the rate rises as the rounds fall (the rescaled fit may still stop a little early)
    assert grown["learning_rate"] * grown[size] <= 0.01 * config[size] * (1 + 1e-9)
    assert grown["learning_rate"] * grown[size] >= 0.01 * config[size] * MIN_GROWN_SHARE
    assert pipeline[-1].get_params() == before, "fit must not change parameters"
    refit = get_learner(name).build({**config, **grown}, random_state=0).fit(X, y)
    assert refit[-1].n_grown_ <= grown[size] and grown_params(refit) == {}


def test_rescaled_rounds_keep_rounds_times_rate_within_the_search_space():
    assert rescaled_rounds(800, 0.01, 200) == (200, 0.04)
    assert rescaled_rounds(800, 0.2, 100) == (100, MAX_RESCALED_LEARNING_RATE)  # rate capped
    assert rescaled_rounds(800, 0.01, 700) is None  # nearly all rounds fit: a stop is enough
    assert rescaled_rounds(800, 0.01, MIN_RESCALED_ROUNDS - 1) is None  # no fair sample
    assert rescaled_rounds(800, MAX_RESCALED_LEARNING_RATE, 100) is None


@pytest.mark.parametrize("name", ["random_forest", "hist_gradient_boosting"])
def test_an_anytime_ensemble_with_time_to_spare_is_the_library_model(name):
    """Grown in chunks (warm start) to its full size it predicts exactly what one plain
    fit does, and it reports no stop."""
    X, y = _mixed_table(2)
    config = {SIZE[name]: 30}
    plain = get_learner(name).build(config, random_state=0).fit(X, y)
    with grow_until(time.monotonic() + 60):
        chunked = get_learner(name).build(config, random_state=0).fit(X, y)
    assert grown_params(chunked) == {} and not grew_too_little(chunked)
    assert chunked[-1].n_grown_ == 30
    np.testing.assert_allclose(chunked.predict_proba(X), plain.predict_proba(X))


def test_an_anytime_mlp_with_time_to_spare_is_the_library_model():
    """Trained epoch by epoch under a far stop time, the MLP is the plain fit: the same
    weights to the last digit, and the same epoch where it converges."""
    X, y = _mixed_table(3)
    for config in ({"max_iter": 30}, {"width": 16, "learning_rate_init": 0.05}):
        plain = get_learner("mlp").build(config, random_state=0).fit(X, y)
        with grow_until(time.monotonic() + 60):
            epochwise = get_learner("mlp").build(config, random_state=0).fit(X, y)
        assert grown_params(epochwise) == {} and not grew_too_little(epochwise)
        assert epochwise[-1].n_iter_ == plain[-1].n_iter_
        np.testing.assert_array_equal(epochwise.predict_proba(X), plain.predict_proba(X))
    assert plain[-1].n_iter_ < 200, "the second configuration must converge before max_iter"


def test_configuration_ids_are_those_the_shipped_kb_recorded():
    """Default and sampled configurations keep the ids the shipped KB stored them under, so
    a resumed build (``--configs 30``) adds configurations instead of redoing them; a
    fixed setting (an MLP's epochs) enters a configuration only where given."""
    from metasel.kb import KnowledgeBase
    from metasel.kb._build import sampled_configs

    stored = KnowledgeBase.default("kb").evaluations.groupby("learner")["config_id"].agg(set)
    for name in ALL:
        ids = {config_id(default_config(name))}
        ids |= {config_id({"learner": name, "params": p}) for p in sampled_configs(name, 3)}
        assert ids <= stored[name], name
    grown = get_learner("mlp").complete({"max_iter": 21})
    assert grown["max_iter"] == 21 and "max_iter" not in get_learner("mlp").default_params()


def test_gradient_boosting_probabilities_do_not_saturate_with_a_two_row_class(arff_root):
    """hypothyroid's fourth class has 2 rows: without l2 regularisation this recommended
    configuration's probabilities were exact zeros for most test rows (ROC AUC 0.552)."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    from metasel.data import DataWarning, load_dataset

    with pytest.warns(DataWarning, match="constant"):
        data = load_dataset(arff_root / "classification" / "hypothyroid.arff")
    y = data.y.cat.codes.to_numpy()
    train, test = train_test_split(np.arange(len(y)), test_size=0.25, stratify=y,
                                   random_state=2)
    config = {"learning_rate": 0.2274, "max_features": 0.4317, "max_iter": 81,
              "max_leaf_nodes": 52, "min_samples_leaf": 4}
    model = get_learner("hist_gradient_boosting").build(config, random_state=2)
    proba = model.fit(data.X.iloc[train], y[train]).predict_proba(data.X.iloc[test])
    assert (proba == 0).mean() < 0.01
    present = np.unique(y[test])
    auc = np.mean([roc_auc_score(y[test] == k, proba[:, k]) for k in present])
    assert auc > 0.95
