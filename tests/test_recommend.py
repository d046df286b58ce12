"""metasel.recommend: zoo-only, buildable recommendations with their evidence."""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd
import pytest

from metasel.exceptions import DataError, MetaselError
from metasel.learners import LEARNERS, build_pipeline
from metasel.meta import MetaModel
from metasel.metafeatures import extract_metafeatures
from metasel.recommend import (
    Recommendation,
    recommend,
    recommend_from_metafeatures,
    recommend_within,
)
from metasel.search import BudgetExceeded

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # dropped-column notes


@pytest.fixture(scope="module")
def shipped() -> MetaModel:
    return MetaModel.default("roc_auc")


def test_recommend_from_a_frame_with_target_returns_buildable_zoo_configurations(
        mixed_frame: pd.DataFrame, shipped: MetaModel) -> None:
    before = mixed_frame.copy()
    recs = recommend(mixed_frame, target="y", top=3, meta_model=shipped)
    pd.testing.assert_frame_equal(mixed_frame, before)  # caller's frame untouched
    assert [r.rank for r in recs] == [1, 2, 3]
    for r in recs:
        assert r.learner in LEARNERS
        assert r.interval[0] <= r.interval[1]
        assert r.configurations and r.nearest_datasets and r.drivers
        build_pipeline({"learner": r.learner, "params": r.configurations[0]})
        json.dumps(r.to_dict())


def test_first_trials_are_numbered_once_each_and_lead_their_learners_configurations(
        mixed_frame: pd.DataFrame, shipped: MetaModel) -> None:
    recs = recommend(mixed_frame, target="y", top=len(LEARNERS), meta_model=shipped)
    numbers = sorted(t for r in recs for t in r.first_trials)
    assert numbers == list(range(1, 6))
    assert all(not r.first_trials for r in recs[5:])  # only the five best learners
    for r in recs:
        assert r.first_trials == sorted(r.first_trials)
        assert len(r.configurations) >= len(r.first_trials)


def test_recommend_accepts_x_and_y_separately(mixed_frame: pd.DataFrame, shipped: MetaModel) -> None:
    X, y = mixed_frame.drop(columns="y"), mixed_frame["y"]
    by_target = recommend(mixed_frame, target="y", meta_model=shipped)
    by_xy = recommend(X, y, meta_model=shipped)
    assert [r.learner for r in by_xy] == [r.learner for r in by_target]


def test_recommend_with_one_class_is_a_data_error(mixed_frame: pd.DataFrame, shipped: MetaModel) -> None:
    with pytest.raises(DataError):
        recommend(mixed_frame.assign(y="same"), target="y", meta_model=shipped)


def test_recommend_refuses_a_meta_model_of_another_metric(mixed_frame: pd.DataFrame, shipped: MetaModel) -> None:
    with pytest.raises(MetaselError, match="trained for metric 'roc_auc'"):
        recommend(mixed_frame, target="y", metric="accuracy", meta_model=shipped)


def test_recommending_for_10000_rows_takes_under_a_second_beyond_metafeatures() -> None:
    from metasel.data import load_dataset

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(10_000, 20)), columns=[f"x{i}" for i in range(20)])
    X["c"] = rng.choice(["a", "b", "c"], 10_000)
    y = np.where(X["x0"] + rng.normal(size=10_000) > 0, "p", "n")
    mf = extract_metafeatures(load_dataset((X, y)))
    start = time.perf_counter()  # loading the shipped model included
    recs = recommend_from_metafeatures(mf, MetaModel.default("roc_auc"), top=5)
    assert time.perf_counter() - start < 1.0
    assert len(recs) == 5 and all(isinstance(r, Recommendation) for r in recs)


def _dataset(frame: pd.DataFrame):
    from metasel.data import load_dataset

    return load_dataset(frame, "y")


def test_recommend_within_ample_time_equals_recommend(mixed_frame: pd.DataFrame,
                                                      shipped: MetaModel) -> None:
    within = recommend_within(_dataset(mixed_frame), shipped, 30.0, top=4)
    assert [r.to_dict() for r in within] == [
        r.to_dict() for r in recommend(mixed_frame, target="y", top=4, meta_model=shipped)]


def test_recommend_within_ranks_without_landmarkers_that_would_overrun(
        mixed_frame: pd.DataFrame, shipped: MetaModel, monkeypatch) -> None:
    module = sys.modules["metasel.recommend"]  # the package exports a function of that name

    def slow_landmarkers(dataset, *, random_state):
        time.sleep(30)

    monkeypatch.setattr(module, "extract_landmarkers", slow_landmarkers)
    dataset = _dataset(mixed_frame)
    start = time.perf_counter()
    recs = recommend_within(dataset, shipped, 2.0, top=4)
    assert time.perf_counter() - start < 3.0  # 1.5 s of meta-features, then the ranking
    cheap = extract_metafeatures(dataset, landmarkers=False)
    assert [r.to_dict() for r in recs] == [
        r.to_dict() for r in recommend_from_metafeatures(cheap, shipped, top=4)]


def test_recommend_within_too_little_time_raises_budget_exceeded(
        mixed_frame: pd.DataFrame, shipped: MetaModel) -> None:
    with pytest.raises(BudgetExceeded):
        recommend_within(_dataset(mixed_frame), shipped, 0.1)
