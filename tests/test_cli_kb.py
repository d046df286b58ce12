"""`metasel kb ...` through typer's CliRunner: info (JSON and table), merge, import-lcdb, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from metasel.cli import _fit
from metasel.cli._kb import kb_app, register
from metasel.kb import KBWriter

runner = CliRunner()
SHIPPED = Path(__file__).resolve().parents[1] / "metasel" / "resources"
INFO_KEYS = {"n_datasets", "n_groups", "learners", "n_evaluations",
             "median_configs_per_learner_dataset", "n_failed", "compute_seconds"}


def _small_kb(path: Path, dataset: str = "arff:iris", configs: tuple[str, ...] = ("a", "b")) -> Path:
    writer = KBWriter(path)
    writer.write_datasets(pd.DataFrame({"dataset_id": [dataset], "source": "arff", "group": ["iris"],
                                        "NumberOfInstances": [150.0]}))
    writer.write_evaluations(pd.DataFrame({
        "dataset_id": dataset, "group": "iris", "learner": "knn", "config_id": list(configs),
        "train_size": 100, "status": ["ok"] * (len(configs) - 1) + ["failed"],
        "fit_time": 1.0, "accuracy_folds": [[0.9, 0.9]] * len(configs)}))
    return path


def test_info_json_reports_the_required_counts(tmp_path):
    result = runner.invoke(kb_app, ["info", str(_small_kb(tmp_path / "kb")), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert set(info) >= INFO_KEYS
    assert (info["n_datasets"], info["n_evaluations"], info["n_failed"]) == (1, 2, 1)
    assert info["learners"] == ["knn"]
    assert info["median_configs_per_learner_dataset"] == 2.0
    assert info["compute_seconds"] == pytest.approx(4.0)


def test_info_prints_a_table_for_people(tmp_path):
    result = runner.invoke(kb_app, ["info", str(_small_kb(tmp_path / "kb"))])
    assert result.exit_code == 0, result.output
    assert "evaluations" in result.stdout and "knn" in result.stdout


def test_info_on_missing_kb_fails_with_clear_message(tmp_path):
    result = runner.invoke(kb_app, ["info", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "No knowledge base at" in result.output and "nope" in result.output


@pytest.mark.skipif(not (SHIPPED / "kb_lcdb").is_dir() and not (SHIPPED / "kb").is_dir(),
                    reason="no shipped KB part has been built yet")
def test_info_without_path_summarises_the_shipped_kb():
    result = runner.invoke(kb_app, ["info", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["n_evaluations"] > 0
    assert all(str(SHIPPED) in p for p in info["paths"])


def test_merge_combines_kbs_without_duplicates(tmp_path):
    a = _small_kb(tmp_path / "a", configs=("x", "y"))
    b = _small_kb(tmp_path / "b", dataset="arff:wine", configs=("x", "z"))
    result = runner.invoke(kb_app, ["merge", str(a), str(b), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    info = json.loads(runner.invoke(kb_app, ["info", str(tmp_path / "out"), "--json"]).stdout)
    assert (info["n_datasets"], info["n_evaluations"]) == (2, 4)


def test_import_lcdb_writes_the_requested_folder(tmp_path):
    folder = tmp_path / "lcdb"
    folder.mkdir()
    pd.DataFrame({"openmlid": [3], "Name": ["kr-vs-kp"], "NumberOfClasses": [2.0],
                  "NumberOfInstances": [3196.0], "NumberOfFeatures": [37.0]}).to_csv(folder / "datasets.csv", index=False)
    rows = [{"openmlid": 3, "learner": "SVC_rbf", "size_train": s, "size_test": 5, "outer_seed": o,
             "inner_seed": 0, "traintime": 0.1, "score_train": 1, "score_valid": 1, "score_test": 0.8}
            for s in (16, 32) for o in range(2)]
    pd.DataFrame(rows).to_csv(folder / "database-accuracy.csv", index=False)
    out = tmp_path / "kb"
    result = runner.invoke(kb_app, ["import-lcdb", "--source", str(folder), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert (info["n_datasets"], info["n_evaluations"], info["learners"]) == (1, 2, ["rbf_svc"])


def test_register_adds_the_kb_group_to_a_root_app(tmp_path):
    root = typer.Typer()

    @root.command()
    def other() -> None:  # a second command, so typer keeps sub-command names
        """Unrelated command."""

    register(root)
    result = runner.invoke(root, ["kb", "info", str(_small_kb(tmp_path / "kb")), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n_evaluations"] == 2


def test_compact_leaves_one_file_per_table(tmp_path):
    kb = _small_kb(tmp_path / "kb")
    _small_kb(kb, dataset="arff:wine")
    result = runner.invoke(kb_app, ["compact", str(kb)])
    assert result.exit_code == 0, result.output
    assert len(list((kb / "evaluations").rglob("*.parquet"))) == 1
    assert len(list((kb / "datasets").rglob("*.parquet"))) == 1
    info = json.loads(runner.invoke(kb_app, ["info", str(kb), "--json"]).stdout)
    assert (info["n_datasets"], info["n_evaluations"]) == (2, 4)


def test_compact_refuses_a_folder_that_is_not_a_kb(tmp_path):
    result = runner.invoke(kb_app, ["compact", str(tmp_path)])
    assert result.exit_code == 2
    assert not (tmp_path / "manifest.json").exists()


def test_build_writes_a_kb_and_rerun_resumes_without_duplicates(tmp_path):
    out = tmp_path / "kb"
    args = ["build", "-s", "sklearn:iris", "-o", str(out), "-l", "gaussian_nb", "--n-configs", "1",
            "--folds", "2", "--curve-sizes", "", "--no-metafeatures", "--json"]
    first = runner.invoke(kb_app, args)
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert (report["written"], report["already_stored"], report["datasets"]) == (2, 0, ["sklearn:iris"])
    second = json.loads(runner.invoke(kb_app, args).stdout)
    assert (second["written"], second["already_stored"]) == (0, 2)
    info = json.loads(runner.invoke(kb_app, ["info", str(out), "--json"]).stdout)
    assert (info["n_evaluations"], info["learners"], info["n_failed"]) == (2, ["gaussian_nb"], 0)


def test_build_binarises_regression_tables_on_request(tmp_path):
    import numpy as np
    import pandas as pd

    folder = tmp_path / "tables"
    folder.mkdir()
    rng = np.random.default_rng(0)
    size = rng.normal(size=60)
    pd.DataFrame({"size": size, "price": 3 * size + rng.normal(size=60)}).to_csv(
        folder / "houses.csv", index=False)  # the last column is a file's target
    args = ["build", "-s", str(folder), "-l", "gaussian_nb", "--n-configs", "0", "--folds", "2",
            "--curve-sizes", "", "--no-metafeatures", "--json"]
    refused = json.loads(runner.invoke(kb_app, [*args, "-o", str(tmp_path / "a")]).stdout)
    assert refused["datasets"] == [] and "continuous" in str(refused["skipped"])
    built = runner.invoke(kb_app, [*args, "-o", str(tmp_path / "b"), "--numeric-target", "binarize"])
    assert built.exit_code == 0, built.output
    assert json.loads(built.stdout)["datasets"] == ["csv:houses"]


def test_build_rejects_malformed_curve_sizes(tmp_path):
    result = runner.invoke(kb_app, ["build", "-s", "sklearn:iris", "-o", str(tmp_path / "kb"),
                                    "--curve-sizes", "64,lots"])
    assert result.exit_code == 2
    assert "--curve-sizes must be integers" in result.output


def test_train_meta_learns_from_the_shipped_kb_plus_remembered_fits(tmp_path):
    from sklearn.datasets import make_classification

    from metasel import MetaSelClassifier, recommend
    from metasel.meta import MetaModel

    X, y = make_classification(n_samples=200, n_features=6, random_state=0)
    fitted = MetaSelClassifier(time_budget=6, n_trials=3, random_state=0,
                               remember=str(tmp_path / "local")).fit(X, y)
    out = tmp_path / "meta"
    result = CliRunner().invoke(kb_app, ["train-meta", "kb", str(tmp_path / "local"), "--out",
                                         str(out), "--min-coverage", "0", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    shipped, local = summary["sources"]
    assert shipped["used"] == shipped["datasets"] > 200 and local["used"] == 1
    assert fitted.remembered_ >= 1
    model = MetaModel.load(out)
    user_id = next(i for i in model.train_info.index if i.startswith("user:"))
    assert model.train_info.loc[user_id, "name"] == user_id, "named by its digest, not 'input'"
    nearest = recommend(X, y, meta_model=model, top=1)[0].nearest_datasets
    assert nearest[0]["name"] == user_id, "the same table is now its own nearest dataset"

    table = tmp_path / "table.csv"
    pd.DataFrame(X).assign(label=y).to_csv(table, index=False)
    fit_app = typer.Typer()
    _fit.register(fit_app)
    cli_fit = CliRunner().invoke(fit_app, ["fit", str(table), "--target", "label", "--n-trials",
                                          "1", "--time-budget", "4", "--meta-model", str(out),
                                          "--out", str(tmp_path / "m.joblib")])
    assert cli_fit.exit_code == 0, cli_fit.output
    estimator = _fit.load_model(tmp_path / "m.joblib")["estimator"]
    assert estimator.recommendations_[0].nearest_datasets[0]["name"] == user_id, \
        "metasel fit --meta-model uses the given meta-model"


def test_train_meta_on_a_missing_kb_names_it(tmp_path):
    result = CliRunner().invoke(kb_app, ["train-meta", str(tmp_path / "nope"), "--out",
                                         str(tmp_path / "meta")])
    assert result.exit_code == 2 and "nope" in result.stderr


def test_train_meta_refuses_a_file_as_out_before_training(tmp_path):
    out = tmp_path / "model.joblib"
    out.write_text("not a folder")
    result = CliRunner().invoke(kb_app, ["train-meta", "kb", "--out", str(out)])
    assert result.exit_code == 2 and "is a file" in result.stderr
    assert out.read_text() == "not a folder"
