"""`metasel recommend` (what to try first on a table) and `metasel evaluate` (meta-model LODO)."""

from __future__ import annotations

import json
import math
import pprint
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from metasel.cli._errors import user_errors
from metasel.cli._kb import open_kb
from metasel.cli._output import print_line
from metasel.cli._source import NumericTarget, NumericTargetOption, TargetOption, load_source

_SCORING = {"roc_auc": "roc_auc", "accuracy": "accuracy",
            "balanced_accuracy": "balanced_accuracy", "log_loss": "neg_log_loss"}


#: Compact column names for the terminal (the JSON and the benchmark files keep the long ones).
_SHORT = {"regret_mean": "regret", "regret_median": "median", "closed_gap": "gap",
          "spearman": "rho", "best_of_top1": "top1", "best_of_top3": "top3",
          "best_of_top5": "top5", "coverage": "cover"}


def register(app: typer.Typer) -> None:
    app.command("recommend")(recommend_command)
    app.command("evaluate")(evaluate_command)


def code_snippet(source: str, target: str | None, learner: str, params: dict[str, Any],
                 metric: str, multiclass: bool, numeric_target: str = "error") -> str:
    """A runnable script that builds and cross-validates the recommended pipeline."""
    scoring = "roc_auc_ovr" if metric == "roc_auc" and multiclass else _SCORING[metric]
    config = pprint.pformat({"learner": learner, "params": params}, sort_dicts=True, width=88)
    binarize = ", numeric_target='binarize'" if numeric_target == "binarize" else ""
    return (
        "from sklearn.model_selection import StratifiedKFold, cross_val_score\n\n"
        "from metasel.data import load_dataset\n"
        "from metasel.learners import build_pipeline\n\n"
        f"dataset = load_dataset({source!r}, target={target!r}{binarize})\n"
        f"config = {config}\n"
        "pipeline = build_pipeline(config, random_state=0)\n"
        "cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)\n"
        f"scores = cross_val_score(pipeline, dataset.X, dataset.y, cv=cv, scoring={scoring!r})\n"
        f'print(f"{learner} {scoring}: {{scores.mean():.4f}} +- {{scores.std():.4f}}")\n'
    )


def _fmt(value: float | None) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"


def recommend_command(
    source: Annotated[str, typer.Argument(help="CSV/parquet/ARFF path, 'openml:<id>', 'keel:<name>' or 'sklearn:<name>'.")],
    target: TargetOption = None,
    numeric_target: NumericTargetOption = NumericTarget.error,
    metric: Annotated[str, typer.Option(help="roc_auc, accuracy or log_loss.")] = "roc_auc",
    top: Annotated[int, typer.Option(help="How many learners to recommend.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    code: Annotated[bool, typer.Option("--code", help="Print a runnable scikit-learn snippet for the top pipeline.")] = False,
    meta_model: Annotated[Path | None, typer.Option(help="Folder of a saved meta-model (default: the shipped one).")] = None,
) -> None:
    """Rank learners for a table and show the configurations to try first, with reasons."""
    from metasel.meta import MetaModel
    from metasel.recommend import recommend

    with user_errors():
        dataset = load_source(source, target, numeric_target)
        model = MetaModel.load(meta_model) if meta_model else MetaModel.default(metric)
        recs = recommend(dataset, metric=metric, top=top, meta_model=model)
    if code:
        where = str(Path(source).resolve()) if Path(source).exists() else source
        typer.echo(code_snippet(where, target, recs[0].learner, recs[0].configurations[0],
                                metric, dataset.n_classes > 2, NumericTarget(numeric_target).value))
        return
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in recs], indent=2, default=str))
        return
    _print_recommendations(Console(), recs, f"{dataset.name}: {dataset.shape[0]} rows x "
                           f"{dataset.shape[1]} features - expected {metric} "
                           f"(meta-model KB {model.fingerprint})")


def _print_recommendations(console: Console, recs: list[Any], title: str) -> None:
    """A ranking table narrow enough for an 80-column terminal, then the configurations as
    whole JSON lines (never cut inside a cell, so they can be copied)."""
    # the nearest known datasets are the dataset's own (meta-feature distance); each learner's
    # row shows its scores there
    near = recs[0].nearest_datasets[:3] if recs else []
    table = Table(title=title)
    for column in ("#", "learner", "expected", "10-90%", "on nearest"):
        table.add_column(column, no_wrap=True)
    for r in recs:
        score = {n["dataset_id"]: n["score"] for n in r.nearest_datasets}
        table.add_row(str(r.rank), r.learner, _fmt(r.expected_score),
                      f"{_fmt(r.interval[0])}-{_fmt(r.interval[1])}",
                      " ".join(_fmt(score.get(n["dataset_id"])) for n in near))
    console.print(table)
    if near:
        print_line(console, "Nearest known datasets (meta-feature distance): " + ", ".join(
            f"{n['name']} ({n['distance']:.2f})" for n in near))
    first = sorted((t, r.learner, c) for r in recs
                   for t, c in zip(r.first_trials, r.configurations, strict=False))
    if first:
        console.print("[bold]First trials of a warm search[/bold] (one set across learners):")
        for t, learner, config in first:
            print_line(console, f"  {t}. {learner} {json.dumps(config, sort_keys=True)}")
    console.print("[bold]Next configurations per learner[/bold], and the meta-features "
                  "that drove its score:")
    for r in recs:
        rest = r.configurations[len(r.first_trials):][:2]
        print_line(console, f"  {r.learner}" + (": " + ", ".join(r.drivers) if r.drivers else ""))
        for config in rest:
            print_line(console, f"    {json.dumps(config, sort_keys=True)}")


def evaluate_command(
    kb: Annotated[str, typer.Argument(help="KB folder, or 'default', 'lcdb', 'kb' for the shipped parts.")] = "default",
    metric: Annotated[str, typer.Option(help="roc_auc, accuracy or log_loss.")] = "roc_auc",
    min_coverage: Annotated[float, typer.Option(help="Share of learners a dataset needs scores for.")] = 0.9,
    probes: Annotated[bool, typer.Option(help="Also evaluate prior + learning-curve probes.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Leave-one-group-out evaluation of the meta-model's rankers, probes and warm starts."""
    from metasel.meta import evaluate_lodo
    from metasel.meta._report import result_tables

    with user_errors():
        result = evaluate_lodo(open_kb(kb), metric, min_coverage=min_coverage, probes=probes)
    tables = result_tables(result)
    if as_json:
        payload = {"metric": result.metric, "n_datasets": result.n_datasets,
                   "n_groups": result.n_groups, "interval_coverage": result.interval_coverage,
                   **{name: json.loads(frame.to_json(orient="records")) for name, frame in tables.items()}}
        typer.echo(json.dumps(payload, indent=2))
        return
    console = Console()
    console.print(f"Leave-one-group-out on {result.n_datasets} datasets ({result.n_groups} groups), "
                  f"metric {result.metric}; regrets in metric points x100; "
                  f"{result.interval_coverage:.0%} of held-out scores fall in the 10-90% interval.")
    for name, frame in tables.items():
        frame = frame.rename(columns=_SHORT)
        table = Table(title=name)
        for column in frame.columns:
            table.add_column(str(column))
        for row in frame.itertuples(index=False):
            table.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row])
        console.print(table)
