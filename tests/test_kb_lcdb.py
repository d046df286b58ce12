"""LCDB import: column mapping, learner names, fold = outer seed, kept anchors, real package."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasel.exceptions import SourceNotFoundError
from metasel.kb import KnowledgeBase, import_lcdb
from metasel.kb._lcdb import learner_name
from metasel.learners import config_id, default_config

LEARNERS = ["SVC_rbf", "sklearn.linear_model.Perceptron"]
ANCHORS = [16, 23, 32, 45, 64, 90]


def _results(metric: str, openml_ids: list[int], n_classes: dict[int, int]) -> pd.DataFrame:
    """Rows shaped like lcdb's database-<metric>.csv, with scores that encode their keys."""
    rows = []
    for oid in openml_ids:
        if metric == "auc" and n_classes[oid] > 2:
            continue  # lcdb has no multiclass AUC
        for li, learner in enumerate(LEARNERS):
            for anchor in ANCHORS:
                for outer in range(3):
                    for inner in range(2):
                        score = 0.5 + 0.001 * anchor / 10 + 0.01 * outer + 0.002 * inner + 0.1 * li
                        rows.append({"openmlid": oid, "learner": learner, "size_train": anchor,
                                     "size_test": 10, "outer_seed": outer, "inner_seed": inner,
                                     "traintime": 0.1 * (inner + 1), "score_train": 1.0,
                                     "score_valid": 0.0, "score_test": score})
    return pd.DataFrame(rows)


@pytest.fixture()
def lcdb_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "lcdb"
    folder.mkdir()
    pd.DataFrame({
        "openmlid": [3, 6, 99], "Name": ["kr-vs-kp", "letter", "no-results"],
        "NumberOfInstances": [3196.0, 20000.0, 10.0], "NumberOfFeatures": [37.0, 17.0, 3.0],
        "NumberOfClasses": [2.0, 26.0, 2.0], "ClassEntropy": [0.99, 4.7, 1.0],
    }).to_csv(folder / "datasets.csv", index=False)
    n_classes = {3: 2, 6: 26, 7: 3}
    for metric in ("accuracy", "auc", "logloss"):
        _results(metric, [3, 6, 7], n_classes).to_csv(folder / f"database-{metric}.csv", index=False)
    return folder


def test_import_maps_datasets_with_openml_qualities(lcdb_folder, tmp_path):
    kb = import_lcdb(tmp_path / "kb", source=lcdb_folder)
    ds = kb.datasets.set_index("dataset_id")
    assert sorted(ds.index) == ["openml:3", "openml:6", "openml:7"]  # 99 has no results
    assert ds.loc["openml:3", "group"] == "krvskp"
    assert ds.loc["openml:3", "source"] == "lcdb"
    assert (ds.loc["openml:3", "n_features"], ds.loc["openml:3", "task"]) == (36, "binary")
    assert ds.loc["openml:6", "ClassEntropy"] == 4.7
    assert np.isnan(ds.loc["openml:7", "ClassEntropy"])  # results without qualities: kept, no meta-features
    assert kb.metafeature_columns == ["NumberOfInstances", "NumberOfFeatures", "NumberOfClasses", "ClassEntropy"]


def test_folds_are_outer_seeds_averaged_over_inner_seeds(lcdb_folder, tmp_path):
    ev = import_lcdb(tmp_path / "kb", source=lcdb_folder).evaluations
    row = ev[(ev.dataset_id == "openml:3") & (ev.learner == "rbf_svc") & (ev.train_size == 32)].iloc[0]
    base = 0.5 + 0.001 * 32 / 10 + 0.001  # mean of inner seeds 0 and 1
    assert list(row["accuracy_folds"]) == pytest.approx([base, base + 0.01, base + 0.02])
    assert row["accuracy"] == pytest.approx(base + 0.01)
    assert row["n_folds"] == 3
    assert row["fit_time"] == pytest.approx(0.15)
    assert row["origin"] == "lcdb" and row["status"] == "ok"
    assert np.isnan(row["balanced_accuracy"])


def test_auc_only_on_binary_datasets(lcdb_folder, tmp_path):
    ev = import_lcdb(tmp_path / "kb", source=lcdb_folder).evaluations
    assert ev.loc[ev.dataset_id == "openml:3", "roc_auc"].notna().all()
    assert ev.loc[ev.dataset_id == "openml:6", "roc_auc"].isna().all()
    assert ev["log_loss"].notna().all()


def test_anchors_kept_are_powers_of_two_and_the_largest(lcdb_folder, tmp_path):
    ev = import_lcdb(tmp_path / "kb", source=lcdb_folder).evaluations
    assert sorted(ev["train_size"].unique()) == [16, 32, 64, 90]


def test_learners_map_to_zoo_defaults_or_lcdb_names(lcdb_folder, tmp_path):
    ev = import_lcdb(tmp_path / "kb", source=lcdb_folder).evaluations
    assert set(ev["learner"]) == {"rbf_svc", "lcdb_perceptron"}
    svc = ev[ev.learner == "rbf_svc"].iloc[0]
    assert svc["config_id"] == config_id(default_config("rbf_svc"))
    assert json.loads(svc["params"]) == default_config("rbf_svc")["params"]
    perceptron = ev[ev.learner == "lcdb_perceptron"].iloc[0]
    assert json.loads(perceptron["params"]) == {}
    assert learner_name("sklearn.linear_model.SomethingNewClassifier") == "lcdb_somethingnew"


def test_reimport_adds_no_duplicates(lcdb_folder, tmp_path):
    first = import_lcdb(tmp_path / "kb", source=lcdb_folder)
    second = import_lcdb(tmp_path / "kb", source=lcdb_folder)
    assert len(second.evaluations) == len(first.evaluations)
    assert len(second.datasets) == len(first.datasets)


def test_missing_results_file_is_reported(tmp_path, lcdb_folder):
    (lcdb_folder / "database-accuracy.csv").unlink()
    with pytest.raises(SourceNotFoundError, match="database-accuracy.csv"):
        import_lcdb(tmp_path / "kb", source=lcdb_folder)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("lcdb") is None, reason="the lcdb package is not installed")
def test_real_lcdb_import_covers_20_learners_and_200_plus_datasets(tmp_path):
    kb = import_lcdb(tmp_path / "kb")
    summary = kb.summary()
    assert len(summary["learners"]) == 20
    assert summary["n_datasets_with_evaluations"] >= 200
    assert len(kb.metafeature_columns) >= 60


SHIPPED = Path(__file__).resolve().parents[1] / "metasel" / "resources" / "kb_lcdb"


@pytest.mark.skipif(not SHIPPED.is_dir(), reason="the shipped LCDB KB has not been imported yet")
def test_shipped_lcdb_part_is_readable_and_compact():
    kb = KnowledgeBase.default(part="lcdb")
    assert len(kb.summary()["learners"]) == 20
    assert sum(p.stat().st_size for p in SHIPPED.rglob("*.parquet")) < 15e6
