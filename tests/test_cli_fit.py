"""`metasel fit` / `metasel predict`: round trip, schema checks, bad inputs, atomic model writes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from metasel.cli import _fit


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    _fit.register(app)
    return app


@pytest.fixture(scope="module")
def train_csv(tmp_path_factory) -> tuple:
    rng = np.random.default_rng(0)
    n = 240
    colour = rng.choice(["red", "green", "blue"], n)
    size = rng.normal(size=n)
    frame = pd.DataFrame({"id": np.arange(n), "size": size, "colour": colour,
                          "y": np.where((colour == "red") | (size > 0.7), "yes", "no")})
    folder = tmp_path_factory.mktemp("cli")
    path = folder / "train.csv"
    frame.to_csv(path, index=False)
    return folder, path, frame


@pytest.fixture(scope="module")
def model_file(app, train_csv):
    folder, path, _ = train_csv
    out = folder / "model.joblib"
    result = CliRunner().invoke(app, ["fit", str(path), "--target", "y", "--time-budget", "4",
                                      "--n-trials", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result


def test_fit_writes_a_model_and_shows_a_leaderboard(model_file):
    out, result = model_file
    assert out.exists()
    assert "Leaderboard" in result.output and "Saved to" in result.output
    assert "3 folds" in result.output, "each score says what it rests on (cv='auto': 3 folds)"
    table = [line for line in result.stdout.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and max(len(line) for line in table) <= 80
    assert "  1. " in result.stdout and '{"' in result.stdout, "configurations are whole lines"
    assert table[3].startswith("│ 1* ") and "* in the final model" in result.stdout, \
        "the model that was saved heads the leaderboard"
    assert not list(out.parent.glob(".*.tmp")), "no temporary file may be left behind"


def test_predict_writes_one_label_per_row_and_drops_the_target(app, model_file, train_csv):
    folder, _, frame = train_csv
    new = folder / "new.csv"
    frame.head(20).to_csv(new, index=False)
    result = CliRunner().invoke(app, ["predict", str(model_file[0]), str(new)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "prediction" and len(lines) == 21
    assert set(lines[1:]) <= {"yes", "no"}
    assert "Dropped" not in result.stderr, "fit dropped the ID column itself: no warning"


def test_predict_proba_accepts_reordered_columns_and_unseen_categories(app, model_file, train_csv):
    folder, _, frame = train_csv
    new = folder / "reordered.csv"
    sample = frame.head(10)[["colour", "size", "id"]].copy()
    sample.loc[sample.index[0], "colour"] = "purple"
    sample.to_csv(new, index=False)
    result = CliRunner().invoke(app, ["predict", str(model_file[0]), str(new), "--proba"])
    assert result.exit_code == 0, result.output
    probabilities = pd.read_csv(pd.io.common.StringIO(result.stdout))
    assert list(probabilities.columns) == ["proba_no", "proba_yes"]
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert "not seen in training" in result.stderr


def test_predict_with_a_missing_column_fails_naming_it(app, model_file, train_csv):
    folder, _, frame = train_csv
    new = folder / "missing.csv"
    frame.head(5).drop(columns=["colour"]).to_csv(new, index=False)
    result = CliRunner().invoke(app, ["predict", str(model_file[0]), str(new)])
    assert result.exit_code == 2
    assert "colour" in result.stderr and "Traceback" not in result.output


def test_predict_warns_about_extra_columns(app, model_file, train_csv):
    folder, _, frame = train_csv
    new = folder / "extra.csv"
    frame.head(5).assign(extra=1).to_csv(new, index=False)
    result = CliRunner().invoke(app, ["predict", str(model_file[0]), str(new)])
    assert result.exit_code == 0
    assert "extra" in result.stderr


@pytest.mark.parametrize(("labels", "message"), [
    (["a"] * 30, "at least 2 classes"),
    ([None] * 30, "only missing values"),
])
def test_fit_rejects_bad_labels_with_a_clear_error(app, tmp_path, labels, message):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"x": np.arange(30.0), "y": labels}).to_csv(path, index=False)
    result = CliRunner().invoke(app, ["fit", str(path), "--target", "y", "--time-budget", "2",
                                      "--out", str(tmp_path / "m.joblib")])
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (tmp_path / "m.joblib").exists()


def test_fit_rejects_an_empty_file(app, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    result = CliRunner().invoke(app, ["fit", str(path), "--target", "y", "--out",
                                      str(tmp_path / "m.joblib")])
    assert result.exit_code == 2 and "empty" in result.stderr


def test_predict_with_a_corrupt_model_file_names_it(app, tmp_path, train_csv):
    bad = tmp_path / "broken.joblib"
    bad.write_bytes(b"not a joblib file")
    result = CliRunner().invoke(app, ["predict", str(bad), str(train_csv[1])])
    assert result.exit_code == 2
    assert "broken.joblib" in result.stderr and "corrupt" in result.stderr


def test_an_interrupted_write_leaves_no_model_file(tmp_path, monkeypatch):
    import joblib

    def interrupted_dump(value, filename, *args, **kwargs):
        with open(filename, "wb") as handle:
            handle.write(b"half a model")
        raise KeyboardInterrupt

    monkeypatch.setattr(joblib, "dump", interrupted_dump)
    out = tmp_path / "model.joblib"
    with pytest.raises(KeyboardInterrupt):
        _fit.save_model({"format": _fit.MODEL_FORMAT}, out)
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_write_keeps_the_previous_model_intact(tmp_path, monkeypatch):
    import joblib

    out = tmp_path / "model.joblib"
    _fit.save_model({"format": _fit.MODEL_FORMAT, "version": _fit.MODEL_VERSION, "n": 1}, out)

    def interrupted_dump(value, filename, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(joblib, "dump", interrupted_dump)
    with pytest.raises(KeyboardInterrupt):
        _fit.save_model({"format": _fit.MODEL_FORMAT, "n": 2}, out)
    monkeypatch.undo()
    assert _fit.load_model(out)["n"] == 1


def test_fit_rejects_an_unknown_metric_before_loading_anything(app, train_csv, tmp_path):
    result = CliRunner().invoke(app, ["fit", str(train_csv[1]), "--target", "y", "--metric",
                                      "f1", "--out", str(tmp_path / "m.joblib")])
    assert result.exit_code == 2 and "--metric" in result.output


@pytest.mark.slow
def test_ctrl_c_during_fit_leaves_no_model_file(train_csv, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    # A background test runner may ignore SIGINT; restore the terminal's Ctrl-C behaviour.
    script = ("import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
              "import typer; from metasel.cli import _fit; app = typer.Typer(); "
              "_fit.register(app); app()")
    folder = tmp_path / "out"
    folder.mkdir()
    log = tmp_path / "stderr.txt"
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", script, "fit", str(train_csv[1]), "--target", "y",
             "--time-budget", "30", "--out", str(folder / "model.joblib")],
            stdout=subprocess.DEVNULL, stderr=stderr, env=env)
        time.sleep(8.0)  # imports, loading, then the search is under way
        tic = time.monotonic()
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
    assert time.monotonic() - tic < 10, "Ctrl-C must stop the fit promptly"
    assert process.returncode != 0
    assert list(folder.iterdir()) == [], "an interrupted fit must leave nothing behind"


@pytest.mark.parametrize(("content", "message"), [
    (b"\x00\x01\x02binary", "binary"),
    (b"x,y\n0.1,0.25\n0.2,0.5\n0.3,0.75\n0.4,0.125\n0.5,0.375\n", "continuous"),
    (b"x,y\n1,a\n1,b\n1,a\n1,b\n", "No usable feature"),
])
def test_fit_rejects_unusable_files_with_a_clear_error(app, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    result = CliRunner().invoke(app, ["fit", str(path), "--target", "y", "--out",
                                      str(tmp_path / "m.joblib")])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "m.joblib").exists()


def test_a_regression_target_is_refused_or_binarised_on_request(app, tmp_path):
    rng = np.random.default_rng(0)
    size = rng.normal(size=160)
    path = tmp_path / "houses.csv"
    pd.DataFrame({"size": size, "rooms": rng.integers(1, 6, 160),
                  "price": 100 * size + rng.normal(size=160)}).to_csv(path, index=False)
    out = tmp_path / "m.joblib"
    refused = CliRunner().invoke(app, ["fit", str(path), "-t", "price", "--out", str(out)])
    assert refused.exit_code == 2 and "--numeric-target binarize" in refused.stderr
    fitted = CliRunner().invoke(app, ["fit", str(path), "-t", "price", "--numeric-target",
                                      "binarize", "-b", "3", "--n-trials", "1", "--out", str(out)])
    assert fitted.exit_code == 0, fitted.output
    assert "Binarised the numeric target" in fitted.stderr and "at its mean" in fitted.stderr
    predicted = CliRunner().invoke(app, ["predict", str(out), str(path)])
    assert set(predicted.stdout.split()[1:]) <= {"N", "P"}


def test_predict_with_a_missing_model_file_names_it(app, tmp_path, train_csv):
    result = CliRunner().invoke(app, ["predict", str(tmp_path / "nope.joblib"),
                                      str(train_csv[1])])
    assert result.exit_code == 2 and "nope.joblib" in result.stderr


def test_an_arff_table_fits_without_target_and_predicts_itself(app, tmp_path, train_csv):
    import arff

    frame = train_csv[2].head(120).drop(columns=["id"])
    path = tmp_path / "train.arff"
    path.write_text(arff.dumps({
        "relation": "train",
        "attributes": [("size", "NUMERIC"), ("colour", ["red", "green", "blue"]),
                       ("y", ["yes", "no"])],
        "data": frame.to_numpy().tolist(),
    }))
    out = tmp_path / "m.joblib"
    fitted = CliRunner().invoke(app, ["fit", str(path), "--time-budget", "3", "--n-trials", "1",
                                      "--out", str(out)])
    assert fitted.exit_code == 0, fitted.output
    result = CliRunner().invoke(app, ["predict", str(out), str(path)])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.strip().splitlines()) == 121
    assert "Dropped" not in result.stderr, "the ARFF's class attribute is the target, not extra"


def test_predict_refuses_a_file_that_is_not_a_table(app, model_file, tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# not a table\n")
    result = CliRunner().invoke(app, ["predict", str(model_file[0]), str(path)])
    assert result.exit_code == 2 and "not a table file" in result.stderr


def test_fit_json_summary_is_machine_readable(app, train_csv, tmp_path):
    out = tmp_path / "m.joblib"
    result = CliRunner().invoke(app, ["fit", str(train_csv[1]), "--target", "y", "--time-budget",
                                      "4", "--n-trials", "2", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["model"] == str(out) and out.exists()
    trials = [r for r in summary["leaderboard"] if r["source"] != "probe"]
    assert len(trials) == 2 and all(isinstance(r["configuration"], dict) for r in trials)
    final = [r for r in summary["leaderboard"] if r["in_final_model"]]
    assert sorted(r["learner"] for r in final) == sorted(m["learner"] for m in summary["ensemble"])
    assert 0.5 <= summary["best_score"] <= 1 and summary["best"]["learner"] in {
        r["learner"] for r in trials}


def test_the_closing_line_says_when_the_final_model_rests_on_fewer_folds():
    board = pd.DataFrame({
        "learner": ["extra_trees", "mlp", "mlp"], "status": "ok",
        "source": ["warm-start", "search", "probe"],
        "n_folds": pd.array([3, 1, pd.NA], dtype="Int64"),
        "in_final_model": [False, True, False]})
    assert _fit._evidence(board) == " (on 1 of 3 folds)"
    assert _fit._evidence(board.assign(in_final_model=[True, False, False])) == ""
    assert _fit._evidence(board.assign(in_final_model=False)) == "", "a probe or prior model"


def test_the_closing_line_names_the_score_behind_the_final_model():
    from types import SimpleNamespace

    board = pd.DataFrame({"learner": ["mlp", "lightgbm"], "status": "ok", "source": "search",
                          "n_folds": pd.array([3, 3], dtype="Int64"),
                          "in_final_model": [True, True]})
    ensemble = SimpleNamespace(final_model_kind_="ensemble", best_score_=0.91234,
                               leaderboard_=board, ensemble_=[{}, {}])
    assert _fit._final_model(ensemble, "roc_auc") == (
        "ensemble of 2 trials; the best trial's cross-validated roc_auc 0.9123")
    folds = SimpleNamespace(**{**vars(ensemble), "final_model_kind_": "fold-ensemble"})
    assert _fit._final_model(folds, "roc_auc").startswith(
        "ensemble of 2 trials' fold models (no time left to refit them)")
    refit = SimpleNamespace(**{**vars(ensemble), "final_model_kind_": "refit"})
    assert _fit._final_model(refit, "roc_auc").startswith("the best trial refitted on all rows")
    probe = SimpleNamespace(final_model_kind_="probe", best_score_=float("nan"),
                            leaderboard_=board.iloc[:0], ensemble_=[])
    assert _fit._final_model(probe, "roc_auc") == "probe model (no search trial finished)"


def test_fit_remember_appends_to_the_local_kb(app, train_csv, tmp_path, monkeypatch):
    from metasel.kb import KnowledgeBase

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["fit", str(train_csv[1]), "--target", "y", "--time-budget",
                                      "4", "--n-trials", "2", "--remember"])
    assert result.exit_code == 0, result.output
    kb = KnowledgeBase.open(tmp_path / "cache" / "kb")
    assert len(kb.datasets) == 1 and len(kb.evaluations) >= 1
    assert f"Remembered {len(kb.evaluations)} evaluations" in result.stderr
