"""`metasel fit` and `metasel predict`: train a MetaSelClassifier on a table, apply it to another.

The model file is a joblib bundle ``{"format", "version", "estimator", "target", ...}``
written atomically (temporary file in the same folder, then rename), so an interrupted fit
never leaves a half-written model behind.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from metasel.cli._errors import user_errors
from metasel.cli._output import print_line
from metasel.cli._source import NumericTarget, NumericTargetOption, TargetOption, load_source
from metasel.exceptions import DataError, SourceNotFoundError

MODEL_FORMAT, MODEL_VERSION = "metasel-model", 1
stderr = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.command("fit")(fit)
    app.command("predict")(predict)


def fit(
    source: Annotated[str, typer.Argument(help="Training table: CSV/parquet/ARFF path or 'openml:<id>'.")],
    target: TargetOption = None,
    numeric_target: NumericTargetOption = NumericTarget.error,
    time_budget: Annotated[float, typer.Option("--time-budget", "-b", help="Seconds for the whole fit.")] = 60.0,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the model (joblib).")] = Path("model.joblib"),
    metric: Annotated[str, typer.Option(help="roc_auc, balanced_accuracy, accuracy or log_loss.")] = "roc_auc",
    n_trials: Annotated[int | None, typer.Option(help="Cap on the number of search trials.")] = None,
    n_jobs: Annotated[int, typer.Option(help="Folds evaluated at once.")] = 1,
    random_state: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    storage: Annotated[str | None, typer.Option(help="Optuna storage URL (resumable search).")] = None,
    cold: Annotated[bool, typer.Option("--cold", help="Search the whole zoo without the meta-model.")] = False,
    meta_model: Annotated[Path | None, typer.Option(help="Folder of a saved meta-model (`metasel kb train-meta`; default: the shipped one).")] = None,
    remember: Annotated[bool, typer.Option("--remember", help="Append this fit's evaluations to the local KB cache/kb (for `metasel kb train-meta`).")] = False,
    top: Annotated[int, typer.Option(help="Leaderboard rows to show.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary (every evaluation) "
                                          "instead of the leaderboard table.")] = False,
) -> None:
    """Select and tune a model for a table within a time budget, and save it."""
    from metasel.estimator import MetaSelClassifier
    from metasel.search import METRICS

    if metric not in METRICS:
        raise typer.BadParameter(f"must be one of {list(METRICS)}; got {metric!r}.",
                                 param_hint="--metric")
    if time_budget <= 0:
        raise typer.BadParameter(f"must be a positive number of seconds; got {time_budget}.",
                                 param_hint="--time-budget")
    with user_errors():
        dataset = load_source(source, target, numeric_target)
        _check_writable(out)
        progress = Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                            console=stderr, transient=False)
        with progress:
            task = progress.add_task("searching", total=time_budget)
            model = MetaSelClassifier(
                time_budget=time_budget, n_trials=n_trials, metric=metric, n_jobs=n_jobs,
                random_state=random_state, storage=storage, warm_start=not cold,
                meta_model=meta_model, remember=remember,
                callback=lambda event: progress.update(
                    task, completed=min(event["elapsed"], time_budget),
                    description=_describe(event)),
            )
            tic = time.monotonic()
            model.fit(dataset.X, dataset.y)
            progress.update(task, completed=time_budget)
        model.set_params(callback=None)  # the progress hook is not part of the saved model
        bundle = {"format": MODEL_FORMAT, "version": MODEL_VERSION, "estimator": model,
                  "target": dataset.target_column, "source": str(source),
                  "dropped_columns": sorted(dataset.dropped_columns)}
        save_model(bundle, out)
    elapsed = time.monotonic() - tic
    if as_json:
        typer.echo(json.dumps(_summary(model, metric, out, elapsed), indent=2))
    else:
        _render_leaderboard(model, top)
    if remember:
        from metasel.search._remember import DEFAULT_LOCAL_KB

        stderr.print(f"Remembered {model.remembered_} evaluations in {DEFAULT_LOCAL_KB} "
                     f"(`metasel kb train-meta default {DEFAULT_LOCAL_KB} ...` learns from "
                     "them).", highlight=False, soft_wrap=True)
    stderr.print(f"Fitted in {elapsed:.1f} s: {_final_model(model, metric)}. Saved to {out}.",
                 highlight=False, soft_wrap=True)  # a path cut in two cannot be copied


def predict(
    model_path: Annotated[Path, typer.Argument(help="A model file written by `metasel fit`.")],
    source: Annotated[Path, typer.Argument(help="Table to predict (CSV, parquet or ARFF).")],
    proba: Annotated[bool, typer.Option("--proba", help="Write class probabilities.")] = False,
) -> None:
    """Predict a table with a fitted model; writes CSV to standard output."""
    import pandas as pd

    from metasel.data import read_table

    with user_errors():
        bundle = load_model(model_path)
        frame = read_table(source)
        # the label and the columns fit dropped as uninformative are expected, not "extra"
        expected = {bundle.get("target"), *bundle.get("dropped_columns", [])}
        frame = frame.drop(columns=[c for c in frame.columns if c in expected])
        estimator = bundle["estimator"]
        if proba:
            values = estimator.predict_proba(frame)
            result = pd.DataFrame(values, columns=[f"proba_{c}" for c in estimator.classes_])
        else:
            result = pd.DataFrame({"prediction": estimator.predict(frame)})
    result.to_csv(sys.stdout, index=False)


def save_model(bundle: dict[str, Any], out: Path) -> None:
    """Write ``bundle`` to ``out`` atomically: a temporary sibling file, then a rename."""
    import joblib

    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        joblib.dump(bundle, tmp)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()


def load_model(path: Path) -> dict[str, Any]:
    """Read a model bundle, failing with a message that names the file and the fix."""
    import joblib

    if not path.exists():
        raise SourceNotFoundError(f"No such model file: {path}. Write one with `metasel fit`.")
    try:
        bundle = joblib.load(path)
    except Exception as error:  # noqa: BLE001 - any unpickling failure means a bad file
        raise DataError(f"The model file {path} cannot be read ({type(error).__name__}: "
                        f"{error}); it is corrupt or not a joblib file. Refit it with "
                        "`metasel fit`.") from error
    if not isinstance(bundle, dict) or bundle.get("format") != MODEL_FORMAT:
        raise DataError(f"The file {path} is not a metasel model (expected a bundle written "
                        "by `metasel fit`). Refit it with `metasel fit`.")
    if bundle.get("version") != MODEL_VERSION:
        raise DataError(f"The model file {path} has format version {bundle.get('version')}; "
                        f"this metasel reads version {MODEL_VERSION}. Refit it.")
    return bundle


def _check_writable(out: Path) -> None:
    if out.is_dir():
        raise DataError(f"--out must be a file path; {out} is a folder. Add a file name.")
    if not out.parent.exists():
        raise SourceNotFoundError(f"The folder {out.parent} of --out does not exist. Create it "
                                  "or choose another path.")


def _describe(event: dict[str, Any]) -> str:
    best = event.get("best_score", math.nan)
    if event.get("best_learner") is None or math.isnan(best):
        return f"trial {event['n_trials']}: no score yet"
    return f"trial {event['n_trials']}: best {event['best_learner']} {best:.4f}"


def _summary(model: Any, metric: str, out: Path, elapsed: float) -> dict[str, Any]:
    """What a script needs from a fit: where the model is, what it is, and every evaluation
    (configurations as objects; a missing value is null)."""
    rows = json.loads(model.leaderboard_.to_json(orient="records"))
    for row in rows:
        row["configuration"] = json.loads(row["configuration"])
    return {"model": str(out), "metric": metric, "fit_time": round(elapsed, 3),
            "final_model": model.final_model_kind_, "best": model.best_params_,
            "best_score": None if math.isnan(model.best_score_) else model.best_score_,
            "ensemble": model.ensemble_, "leaderboard": rows}


def _final_model(model: Any, metric: str) -> str:
    """What the saved model is and the score it rests on: the best trial's cross-validated
    score (an ensemble is selected on the same out-of-fold predictions, so its own score
    would be optimistic); a probe or prior model has none."""
    kind = model.final_model_kind_
    if math.isnan(model.best_score_):
        return f"{kind} model (no search trial finished)"
    score = f"cross-validated {metric} {model.best_score_:.4f}{_evidence(model.leaderboard_)}"
    if kind == "ensemble":
        return f"ensemble of {len(model.ensemble_)} trials; the best trial's {score}"
    if kind == "fold-ensemble":
        return (f"ensemble of {len(model.ensemble_)} trials' fold models (no time left to "
                f"refit them); the best trial's {score}")
    if kind == "fold-models":
        return f"the best trial's fold models (no time left to refit it), {score}"
    return f"the best trial refitted on all rows, {score}"


def _evidence(board: Any) -> str:
    """' (on 1 of 3 folds)' when the final model refits a trial that was cut after some folds
    (the search ranked it on those rows against the best full trial), so that its score is
    not read as a full cross-validation."""
    trials = board[(board["status"] == "ok") & (board["source"] != "probe")]
    final = trials[trials["in_final_model"]]
    if final.empty:
        return ""
    n_folds, planned = int(final["n_folds"].min()), int(trials["n_folds"].max())
    return f" (on {n_folds} of {planned} folds)" if n_folds < planned else ""


def _render_leaderboard(model: Any, top: int) -> None:
    """The final model's trials first, then the best other evaluations, most evidence first:
    trials scored on every fold, then trials cut after some folds, then probes (scored on a
    subsample's holdout, where 1.0 is cheap)."""
    board = model.leaderboard_
    done = board[board["status"] == "ok"]
    partial = done["n_folds"].lt(done["n_folds"].max()).fillna(False).astype(int)
    evidence = partial + 2 * (done["source"] == "probe").astype(int)
    done = done.assign(evidence=evidence).sort_values(
        ["in_final_model", "evidence", "score"], ascending=[False, True, False]).head(top)
    table = Table(title=f"Leaderboard (best {len(done)} of {len(board)} evaluations)",
                  caption="* in the final model" if done["in_final_model"].any() else None)
    for column in ("#", "learner", "score", "scored on", "time", "source"):
        table.add_column(column, no_wrap=True)
    for rank, row in enumerate(done.itertuples(index=False), 1):
        mark = "*" if row.in_final_model else ""
        table.add_row(f"{rank}{mark}", row.learner, f"{row.score:.4f}", _scored_on(row),
                      f"{row.time:.2f}s", row.source)
    console = Console()
    console.print(table)
    # whole lines, never folded inside a cell, so that a configuration can be copied
    for rank, row in enumerate(done.itertuples(index=False), 1):
        print_line(console, f"  {rank}. {row.learner} {row.configuration}")


def _scored_on(row: Any) -> str:
    """How much evidence a score rests on: a probe's subsample, or a trial's folds (fewer
    than planned when time ran out)."""
    if row.source == "probe":
        return f"{row.train_size} rows"
    return f"{row.n_folds} fold{'s' if row.n_folds != 1 else ''}"
