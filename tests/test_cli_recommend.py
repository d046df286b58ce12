"""`metasel recommend` and `metasel evaluate` end to end through typer's CliRunner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from metasel.cli import _recommend

runner = CliRunner()
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    _recommend.register(app)
    return app


@pytest.fixture()
def csv_path(mixed_frame: pd.DataFrame, tmp_path: Path) -> Path:
    path = tmp_path / "mixed.csv"
    mixed_frame.to_csv(path, index=False)
    return path


def test_recommend_prints_a_ranked_table(app: typer.Typer, csv_path: Path) -> None:
    result = runner.invoke(app, ["recommend", str(csv_path), "--target", "y", "--top", "3"])
    assert result.exit_code == 0, result.output
    assert "expected roc_auc" in result.output


def test_recommend_table_fits_80_columns_and_keeps_configurations_whole(
        app: typer.Typer, csv_path: Path) -> None:
    recs = json.loads(runner.invoke(app, ["recommend", str(csv_path), "--target", "y",
                                          "--json"]).stdout)
    result = runner.invoke(app, ["recommend", str(csv_path), "--target", "y"],
                           env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    table = [line for line in result.stdout.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and max(len(line) for line in table) <= 80
    for rank, r in enumerate(recs, 1):  # learners in rank order, names not cut
        assert any(f"│ {rank} │ {r['learner']} " in line for line in table), r["learner"]
        for trial, config in zip(r["first_trials"], r["configurations"], strict=False):
            assert f"{trial}. {r['learner']} {json.dumps(config, sort_keys=True)}" in result.stdout
    assert sum(len(r["first_trials"]) for r in recs) == 5


def test_recommend_json_has_the_documented_fields(app: typer.Typer, csv_path: Path) -> None:
    result = runner.invoke(app, ["recommend", str(csv_path), "--target", "y", "--json",
                                 "--metric", "accuracy", "--top", "2"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert len(payload) == 2
    for item in payload:
        assert {"learner", "expected_score", "interval", "configurations", "nearest_datasets"} <= set(item)
        assert len(item["interval"]) == 2 and item["metric"] == "accuracy"
        assert {"name", "source", "distance", "score"} <= set(item["nearest_datasets"][0])


def test_recommend_code_snippet_runs_and_cross_validates(app: typer.Typer, csv_path: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["recommend", str(csv_path), "--target", "y", "--code"])
    assert result.exit_code == 0, result.output
    script = tmp_path / "snippet.py"
    script.write_text(result.stdout)
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=root, env={"PYTHONPATH": str(root), "PATH": ""})
    assert done.returncode == 0, done.stderr
    assert "roc_auc:" in done.stdout


def test_recommend_code_snippet_loads_a_binarised_target_the_same_way(
        app: typer.Typer, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "houses.csv"
    size = rng.normal(size=80)
    pd.DataFrame({"size": size, "price": 3 * size + rng.normal(size=80)}).to_csv(path, index=False)
    result = runner.invoke(app, ["recommend", str(path), "-t", "price", "--numeric-target",
                                 "binarize", "--code"])
    assert result.exit_code == 0, result.output
    loading = result.stdout[:result.stdout.index("config = ")]
    namespace: dict = {}
    exec(loading, namespace)  # the snippet's own imports and load_dataset call
    assert namespace["dataset"].y.cat.categories.tolist() == ["N", "P"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["recommend", "missing.csv", "--target", "y"], "missing.csv"),
        (["recommend", "{csv}", "--target", "nope"], "nope"),
    ],
)
def test_recommend_errors_are_one_clear_line(app: typer.Typer, csv_path: Path, args: list[str], message: str) -> None:
    args = [a.replace("{csv}", str(csv_path)) for a in args]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "Error:" in result.output and message in result.output
    assert "Traceback" not in result.output


def test_recommend_with_one_class_fails_clearly(app: typer.Typer, mixed_frame: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    mixed_frame.assign(y="same").to_csv(path, index=False)
    result = runner.invoke(app, ["recommend", str(path), "--target", "y"])
    assert result.exit_code == 2 and "Error:" in result.output and "class" in result.output


def test_recommend_with_a_corrupt_meta_model_names_the_file(app: typer.Typer, csv_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mm"
    folder.mkdir()
    (folder / "meta_model.json").write_text("{broken")
    result = runner.invoke(app, ["recommend", str(csv_path), "--target", "y", "--meta-model", str(folder)])
    assert result.exit_code == 2 and "meta_model.json" in result.output


def test_evaluate_json_reports_every_ranker(app: typer.Typer, tmp_path: Path) -> None:
    from metasel.kb import KBWriter, KnowledgeBase

    kb = KnowledgeBase.default("lcdb")
    keep = kb.datasets[kb.datasets[kb.metafeature_columns].notna().mean(axis=1) > 0.5].head(25)
    writer = KBWriter(tmp_path / "kb")
    writer.write_datasets(keep)
    ev = kb.evaluations
    writer.write_evaluations(ev[ev["dataset_id"].isin(keep["dataset_id"])])
    result = runner.invoke(app, ["evaluate", str(tmp_path / "kb"), "--metric", "accuracy", "--json", "--no-probes"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    methods = {row["method"] for row in payload["rankers"]}
    assert {"single_best", "meta_model", "knn10"} <= methods and payload["n_datasets"] >= 15
