"""Equal-budget comparison: MetaSelClassifier vs FLAML vs cold-start Optuna TPE vs defaults.

    python benchmarks/compare.py                      # the documented run (resumable)
    python benchmarks/compare.py --datasets diabetes --budgets 10 --seeds 0   # a smoke run
    python benchmarks/compare.py --report-only        # rebuild compare.md and the plots
    python benchmarks/compare.py --methods metasel optuna_cold --budgets 5   # some methods
    python benchmarks/compare.py --efficiency --seeds 0 1 --variant NAME   # efficiency.md
    python benchmarks/compare.py --efficiency --seeds 0 1 --reference      # its yardstick

Held-out data: local ARFF sets (../shared/datasets/arff/classification; a name with a folder,
such as ``regression/fried``, is a file under ../shared/datasets/arff, its numeric target
split at the mean as ``--numeric-target binarize`` does). The meta-model used
by MetaSelClassifier is trained on the default KB *without* the groups of these datasets
(every variant of a benchmark dataset is out), and the script checks that no group of the
benchmark is in its training set; compare.md lists the excluded groups.

Every (dataset, method, budget, seed) runs in a fresh process (abandoned threads or leaked
state of one method cannot slow the next), with n_jobs=1, on the same outer 75/25
stratified split. Rows are appended to results/compare.csv as they finish; a rerun skips
the rows already there. The defaults (LightGBM, random forest) do not depend on the budget:
they run once per dataset and seed and are compared at every budget.
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import json
import logging
import multiprocessing
import time
import warnings
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
ARFF = ROOT.parent / "shared" / "datasets" / "arff" / "classification"
RESULTS = ROOT / "benchmarks" / "results"
DATASETS = ("diabetes", "credit.a", "ionosphere", "vehicle", "cmc", "tic-tac-toe", "anneal",
            "vowel")
BUDGETS = (10, 30, 60)
SEEDS = (0, 1)
SEARCHERS = ("metasel", "optuna_cold", "flaml")
DEFAULTS = ("lightgbm_default", "random_forest_default")
KEY = ["dataset", "method", "budget", "seed"]
COLUMNS = [*KEY, "group", "n_rows", "n_features", "n_classes", "fit_time", "roc_auc",
           "balanced_accuracy", "n_trials", "lost_s", "best_learner", "final_model",
           "first_learners", "trial_scores", "error"]
#: cold-start trials whose best CV score is the warm-start efficiency target
COLD_TRIALS = 50
#: outer-test scores closer than this count as a tie in wins/ties/losses
TIE = 1e-3
METRIC = "roc_auc"
#: efficiency mode: runs stop on the trial count; this budget only guards against hangs
EFFICIENCY_BUDGET = 1200
EFFICIENCY_KEY = ["dataset", "method", "variant", "seed"]
#: efficiency, noise view: trials to come within these AUC points of the cold best (the
#: target itself is the exact best, tolerance 0)
REACH_TOLERANCES = (1e-3, 5e-3)
#: efficiency, how far a median over a few datasets can move: bootstrap resamples of the
#: datasets (both seeds of a dataset together) and the interval's coverage
BOOTSTRAP_RESAMPLES, BOOTSTRAP_COVERAGE = 4000, 0.9
#: efficiency yardstick: a cold search with the seed shifted by RESEED (CV splits kept)
REFERENCE, RESEED = "cold_reseeded", 1000
#: what each warm-start variant in efficiency.csv ran (the code is in the git history)
VARIANT_NOTES = {
    "baseline": "15 warm starts (3 per top-5 learner, round-robin), then TPE",
    "v2_5warm_tpe_after": "5 warm starts, TPE startup trials after them",
    "v3_5first_tpe_after": "one configuration per top-5 learner, never pruned, TPE right "
                           "after them (commit 4a1aa3a)",
    "v4_one_thread": "v3 with one BLAS/OpenMP thread per model (same trial sequence)",
    "v5_kb61k": "v4's code; meta-model retrained on the complete KB (61,908 evaluations, "
                "21 configurations per learner x dataset instead of 9)",
    "v6_first_trials": "v5's meta-model; the first 5 trials are one set across the top 5 "
                       "learners (greedy portfolio over the 25 nearest datasets)",
    "v7_fold_screen": "v6's meta-model and portfolio, 20 candidates instead of 5, screened "
                      "on the first CV fold (one fit each, counted as probes); the 5 best "
                      "run first, in full (67b548e; reverted: it lost at 10 and 30 s, see "
                      "screen_ab/NOTE.md)",
    "v8_focus": "v6's meta-model and first trials; the next 10 trials refine the leading "
                "learners (enqueued learner: leader, leader, runner-up; TPE samples its "
                "parameters) before TPE chooses learners again (not committed: median 33, "
                "worse than v6; refining a leader repeats correlated scores where the cold "
                "best is a maximum over many diverse ones)",
    REFERENCE: "not a warm start: a second cold search, same data and CV splits, another "
               "search seed (sampler and learners' seeds); how far a cold search is from "
               "repeating another one's 50-trial best",
}
EFFICIENCY_COLUMNS = [*EFFICIENCY_KEY, "n_trials", "n_probes", "fit_time", "roc_auc",
                      "best_learner", "first_learners", "first_trials", "trial_scores", "error"]

logger = logging.getLogger("compare")


# --------------------------------------------------------------------------- one run
def run_one(job: dict[str, Any]) -> dict[str, Any]:
    """Fit one method on one dataset's outer training part; score it on the outer test part."""
    import metasel.estimator  # noqa: F401 - imported before the clock starts, for every method

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    dataset = load_benchmark_dataset(job["dataset"])
    y = dataset.y.cat.codes.to_numpy()
    train, test = outer_split(y, job["seed"])
    X_train, X_test = dataset.X.iloc[train], dataset.X.iloc[test]
    y_train, y_test = y[train], y[test]
    row: dict[str, Any] = {k: job[k] for k in KEY}
    row.update(group=dataset.group, n_rows=len(y), n_features=dataset.X.shape[1],
               n_classes=dataset.n_classes)
    method = {"metasel": _metasel_warm, "optuna_cold": _metasel_cold,
              "optuna_cold_reseeded": _metasel_cold_reseeded, "flaml": _flaml,
              "lightgbm_default": _lightgbm_default,
              "random_forest_default": _random_forest_default}[job["method"]]
    tic = time.monotonic()
    try:
        model, info = method(X_train, y_train, job)
        row["fit_time"] = time.monotonic() - tic
        row.update(_scores(y_test, model.predict_proba(X_test), model.predict(X_test),
                           dataset.n_classes))
        row.update(info, error="")
    except Exception as error:  # noqa: BLE001 - record the failure, keep benchmarking
        row.update(fit_time=time.monotonic() - tic, roc_auc=np.nan, balanced_accuracy=np.nan,
                   error=f"{type(error).__name__}: {error}"[:500])
    return row


def outer_split(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the outer 75/25 stratified split; a class with a single row cannot be
    split, so that row is trained on (audiology, flags, spectrometer) and never scored."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(y))
    single = np.bincount(y)[y] < 2
    train, test = train_test_split(rows[~single], test_size=0.25, stratify=y[~single],
                                   random_state=seed)
    return np.concatenate([train, rows[single]]), test


def _scores(y_test: np.ndarray, proba: np.ndarray, labels: np.ndarray,
            n_classes: int) -> dict[str, float]:
    """ROC AUC (multi-class: one-vs-rest, macro over the classes present in the test part,
    which is scikit-learn's ``multi_class="ovr"`` whenever every class is there) and
    balanced accuracy."""
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    proba = np.asarray(proba, dtype=float)
    if n_classes == 2:
        auc = roc_auc_score(y_test, proba[:, 1])
    else:
        proba = proba / proba.sum(axis=1, keepdims=True)
        auc = np.mean([roc_auc_score(y_test == k, proba[:, k]) for k in np.unique(y_test)])
    return {"roc_auc": float(auc),
            "balanced_accuracy": float(balanced_accuracy_score(y_test, np.asarray(labels)))}


def _metasel(X, y, job, *, warm: bool, seed_shift: int = 0):
    """``seed_shift`` moves the search's seed; the CV splits stay those of ``job["seed"]``."""
    from metasel.estimator import MetaSelClassifier

    target = job.get("target")
    cv = fixed_auto_splits(y, job["seed"]) if seed_shift else "auto"
    model = MetaSelClassifier(time_budget=job["budget"], n_trials=job.get("n_trials"),
                              random_state=job["seed"] + seed_shift, n_jobs=1, metric=METRIC,
                              cv=cv, warm_start=warm,
                              meta_model=job["meta_model"] if warm else None,
                              callback=None if target is None else
                              lambda event: event["best_score"] >= target)
    model.fit(X, y)
    board = model.leaderboard_
    # proposals refused before their first fold ("skipped") never ran: not trials
    trials = board[(board["source"] != "probe") & (board["status"] != "skipped")]
    trials = trials.sort_values("trial")
    scores = [None if pd.isna(s) else round(float(s), 6) for s in trials["score"]]
    # time spent in trials that ended without a score (stopped or cut for lack of time)
    lost = float(trials.loc[trials["status"] == "timeout", "time"].sum())
    info = {"n_trials": len(trials), "lost_s": round(lost, 2),
            "final_model": model.final_model_kind_,
            "best_learner": (model.best_params_ or {}).get("learner", ""),
            "trial_scores": json.dumps(scores), "n_probes": int((board["source"] == "probe").sum()),
            "first_learners": ",".join(r.learner for r in model.recommendations_[:3]),
            "first_trials": ",".join(trials["learner"].head(10))}
    return model, info


def fixed_auto_splits(y: np.ndarray, seed: int):
    """A CV splitter that gives the "auto" splits of ``random_state=seed`` whatever the
    estimator's own seed."""
    from sklearn.model_selection import PredefinedSplit

    from metasel.search import make_splits

    test_fold = np.empty(len(y), dtype=int)
    for fold, (_, test) in enumerate(make_splits(np.unique(y, return_inverse=True)[1], "auto",
                                                 seed)):
        test_fold[test] = fold
    return PredefinedSplit(test_fold)


def _metasel_warm(X, y, job):
    return _metasel(X, y, job, warm=True)


def _metasel_cold(X, y, job):
    return _metasel(X, y, job, warm=False)


def _metasel_cold_reseeded(X, y, job):
    return _metasel(X, y, job, warm=False, seed_shift=RESEED)


class _PositionalColumns:
    """A model fitted and asked on columns named by position: FLAML's LightGBM refuses
    names with JSON characters (spambase's ``char_freq_;``), which would score FLAML on the
    names rather than the data."""

    def __init__(self, model: Any) -> None:
        self.model = model

    @staticmethod
    def columns(X: pd.DataFrame) -> pd.DataFrame:
        return X.set_axis([f"x{i}" for i in range(X.shape[1])], axis=1)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.model.predict_proba(self.columns(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.model.predict(self.columns(X))


def _flaml(X, y, job):
    from flaml import AutoML

    automl = AutoML()
    n_classes = len(np.unique(y))
    automl.fit(_PositionalColumns.columns(X), y, task="classification",
               time_budget=job["budget"], n_jobs=1,
               metric="roc_auc" if n_classes == 2 else "roc_auc_ovr", seed=job["seed"],
               verbose=0)
    info = {"n_trials": len(getattr(automl, "config_history", {}) or {}),
            "best_learner": str(automl.best_estimator), "final_model": "flaml",
            "trial_scores": "", "first_learners": ""}
    return _PositionalColumns(automl), info


def _default(name: str, X, y, job):
    from metasel.learners import get_learner

    learner = get_learner(name)
    model = learner.build(learner.default_params(), random_state=job["seed"]).fit(X, y)
    info = {"n_trials": 1, "best_learner": name, "final_model": "default", "trial_scores": "",
            "first_learners": ""}
    return model, info


def _lightgbm_default(X, y, job):
    return _default("lightgbm", X, y, job)


def _random_forest_default(X, y, job):
    return _default("random_forest", X, y, job)


def load_benchmark_dataset(name: str):
    """A classification set by name, or ``folder/name`` under the ARFF root (binarised)."""
    from metasel.data import load_dataset

    if "/" in name:
        return load_dataset(ARFF.parent / f"{name}.arff", numeric_target="binarize")
    return load_dataset(ARFF / f"{name}.arff")


# ------------------------------------------------------------------ held-out meta-model
def kb_rows_to_hold_out(known: pd.DataFrame, tables: list[Any],
                        profiles: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Masks over the KB's datasets table: rows to hold out (the benchmark tables' groups,
    and tables that look like one of them: possible copies under another name), and those
    held out for their look alone.

    A look-alike has a benchmark table's row count and a feature count within
    ``FEATURE_SLACK`` (smoothmeth_quake is quake), its columns' statistics
    (:func:`metasel.kb.copy_candidates` on ``profiles``, from :func:`table_profiles`: a
    subsample or a copy with a column more) or its row and class counts (the same records
    under other columns: :func:`metasel.kb.same_label_counts`).
    """
    from metasel.kb import FEATURE_SLACK, copy_candidates, same_label_counts

    alike = (copy_candidates(profiles, known) | same_label_counts(profiles, known)).any(axis=0)
    for table in tables:
        alike |= ((known["n_rows"] == table.shape[0])
                  & ((known["n_features"] - table.shape[1]).abs() <= FEATURE_SLACK)).to_numpy()
    same_group = known["group"].isin({t.group for t in tables}).to_numpy()
    return same_group | alike, alike & ~same_group


def table_profiles(tables: list[Any]) -> pd.DataFrame:
    """What :func:`metasel.kb.copy_candidates` compares, for each benchmark table (without
    landmarkers: milliseconds)."""
    from metasel.metafeatures import extract_metafeatures

    return pd.DataFrame([{**extract_metafeatures(t, landmarkers=False),
                          "n_classes": t.n_classes, "n_features": t.shape[1]} for t in tables])


def holdout_meta_model(datasets: list[str], out: Path) -> tuple[Path, list[str]]:
    """A roc_auc meta-model trained without the benchmark datasets (:func:`kb_rows_to_hold_out`);
    its folder."""
    from metasel.kb import KnowledgeBase
    from metasel.meta import MetaModel

    tables = [load_benchmark_dataset(d) for d in datasets]
    groups = sorted({t.group for t in tables})
    kb = KnowledgeBase.default()
    known = kb.datasets
    out_mask, alike = kb_rows_to_hold_out(known, tables, table_profiles(tables))
    keep_ids = known.loc[~out_mask, "dataset_id"]
    held_out = known.loc[out_mask, "dataset_id"].tolist()
    look_alikes = known.loc[alike, "dataset_id"].tolist()

    class Filtered:
        datasets = known[~out_mask]
        evaluations = kb.evaluations[kb.evaluations["dataset_id"].isin(keep_ids)]

    model = MetaModel.fit(Filtered(), METRIC, min_coverage=0.5)
    leaked = sorted(set(model.train_info["group"]) & set(groups))
    if leaked:
        raise SystemExit(f"benchmark groups {leaked} are still in the meta-model's training set")
    path = model.save(out / METRIC)
    logger.info("meta-model without %s: %d training datasets (%d KB datasets held out: %s)",
                groups, len(model.train_info), len(held_out), held_out)
    (out / "excluded.json").write_text(json.dumps({"groups": groups, "kb_datasets": held_out,
                                                   "look_alikes": look_alikes,
                                                   "n_train": len(model.train_info)}))
    return path, groups


# ------------------------------------------------------------------------------ driver
def pending_jobs(args, done: set[tuple]) -> list[dict[str, Any]]:
    jobs = []
    for seed in args.seeds:
        for dataset in args.datasets:
            for method in (m for m in DEFAULTS if m in args.methods):
                jobs.append({"dataset": dataset, "method": method, "budget": 0, "seed": seed})
            for budget in args.budgets:
                for method in (m for m in SEARCHERS if m in args.methods):
                    jobs.append({"dataset": dataset, "method": method, "budget": budget,
                                 "seed": seed})
    return [j for j in jobs if (j["dataset"], j["method"], j["budget"], j["seed"]) not in done]


def run_all(args) -> None:
    csv = args.out / "compare.csv"
    jobs = pending_jobs(args, _done(csv, KEY))
    print(f"{len(jobs)} runs to do (rows already in {csv} are skipped)", flush=True)
    if jobs:
        _run_jobs(jobs, folder_meta_model(args.out / "meta_holdout", args.datasets), csv, KEY,
                  COLUMNS)


def folder_meta_model(folder: Path, datasets: list[str]) -> Path:
    """The held-out meta-model of an output folder.

    The folder's first run trains it without every benchmark dataset (also when it runs a
    subset) and without ``datasets``; later runs reuse it, so that all rows of one folder
    come from one meta-model, and a run whose datasets it knows is refused.
    """
    path = folder / METRIC
    if path.exists():
        _check_held_out(folder, datasets)
        return path
    return holdout_meta_model(list(dict.fromkeys([*DATASETS, *datasets])), folder)[0]


def _done(csv: Path, key: list[str]) -> set[tuple]:
    if not csv.exists():
        return set()
    return set(map(tuple, pd.read_csv(csv)[key].itertuples(index=False)))


def _run_jobs(jobs: list[dict[str, Any]], meta_path: Path, csv: Path, key: list[str],
              columns: list[str]) -> None:
    """Each job in a fresh process; its row appended to ``csv`` as soon as it finishes."""
    context = multiprocessing.get_context("spawn")
    for job in jobs:
        job["meta_model"] = str(meta_path)
        limit = 3 * job["budget"] + 120
        with futures.ProcessPoolExecutor(1, mp_context=context) as pool:
            try:
                row = pool.submit(run_one, job).result(timeout=limit)
            except futures.TimeoutError:
                row = {"roc_auc": np.nan, "balanced_accuracy": np.nan,
                       "error": f"no result after {limit} s"}
                for process in list(getattr(pool, "_processes", {}).values()):
                    process.kill()
            except BrokenProcessPool:  # a crash is that method's failure
                row = {"roc_auc": np.nan, "balanced_accuracy": np.nan,
                       "error": "the worker process died (killed by a signal)"}
            except Exception as error:  # noqa: BLE001 - e.g. no stratified outer split: a row, not the end of the run
                row = {"roc_auc": np.nan, "balanced_accuracy": np.nan,
                       "error": f"{type(error).__name__}: {error}"}
        row.update({k: job[k] for k in key})
        frame = pd.DataFrame([row]).reindex(columns=columns)
        frame.to_csv(csv, mode="a", header=not csv.exists(), index=False)
        print(" ".join(str(job[k]) for k in key),
              f" auc {row.get('roc_auc', np.nan):.4f}  trials {row.get('n_trials', '')}"
              f"  {row.get('fit_time', np.nan):6.1f}s  {row.get('error', '')}", flush=True)


# ------------------------------------------------------------------ efficiency mode
def efficiency_jobs(args, done: set[tuple]) -> list[dict[str, Any]]:
    """Per dataset and seed: the cold search once, and the warm search of ``args.variant``
    (or, with ``--reference``, the reseeded cold search)."""
    rival = ("optuna_cold_reseeded", REFERENCE) if args.reference else ("metasel", args.variant)
    jobs = [{"dataset": dataset, "method": method, "variant": variant, "seed": seed,
             "budget": EFFICIENCY_BUDGET, "n_trials": COLD_TRIALS}
            for seed in args.seeds for dataset in args.datasets
            for method, variant in (("optuna_cold", "cold"), rival)]
    return [j for j in jobs if tuple(j[k] for k in EFFICIENCY_KEY) not in done]


def run_efficiency(args) -> None:
    """Exactly ``COLD_TRIALS`` trials per search; the budget is only a guard against hangs.

    A warm (or reseeded) search stops as soon as it reaches the cold search's best (later
    trials cannot change the trials-to-reach count: trials run one after another).

    The held-out meta-model is trained once into ``efficiency_meta`` and reused
    (:func:`folder_meta_model`), so that variants of the warm start are compared on the same
    meta-model.
    """
    csv = args.out / "efficiency.csv"
    jobs = efficiency_jobs(args, _done(csv, EFFICIENCY_KEY))
    print(f"{len(jobs)} runs to do (rows already in {csv} are skipped)", flush=True)
    if not jobs:
        return
    meta_path = folder_meta_model(args.out / "efficiency_meta", args.datasets)
    for job in jobs:
        if job["method"] != "optuna_cold":
            job["target"] = _cold_best(csv, job)
        _run_jobs([job], meta_path, csv, EFFICIENCY_KEY, EFFICIENCY_COLUMNS)


def _check_held_out(folder: Path, datasets: list[str]) -> None:
    """Refuse to reuse a meta-model that was trained with one of ``datasets``' groups, or
    with a KB table that today's rules hold out for them (an alias or a look-alike found
    after it was trained: credit.a's copy `australian` was in meta-models before 5143260)."""
    excluded = folder / "excluded.json"
    record = json.loads(excluded.read_text()) if excluded.exists() else {}
    tables = [load_benchmark_dataset(d) for d in datasets]
    known = sorted({t.group for t in tables} - set(record.get("groups", [])))
    if known:
        raise SystemExit(f"the meta-model in {folder} was trained with the groups {known} of "
                         "this run's datasets; run them with another --out")
    kb = kb_datasets()
    held_out, _ = kb_rows_to_hold_out(kb, tables, table_profiles(tables))
    copies = sorted(set(kb.loc[held_out, "dataset_id"]) - set(record.get("kb_datasets", [])))
    if copies:
        raise SystemExit(f"the meta-model in {folder} was trained with {copies}, which are now "
                         "held out for this run's datasets; run them with another --out")


def kb_datasets() -> pd.DataFrame:
    """The default KB's datasets table (group keys as of today's aliases)."""
    from metasel.kb import KnowledgeBase

    return KnowledgeBase.default().datasets


def _cold_best(csv: Path, job: dict[str, Any]) -> float | None:
    """The cold search's best CV score for ``job``'s dataset and seed (None: not run yet)."""
    rows = pd.read_csv(csv) if csv.exists() else pd.DataFrame(columns=EFFICIENCY_COLUMNS)
    cold = rows[(rows["method"] == "optuna_cold") & (rows["dataset"] == job["dataset"])
                & (rows["seed"] == job["seed"])]
    scores = _trajectory(cold["trial_scores"].iloc[0]) if len(cold) else np.array([])
    return float(np.nanmax(scores)) if np.isfinite(scores).any() else None


def efficiency_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, seed and warm variant: cold best after 50 trials, trials to reach it.

    ``reach`` counts search trials only; ``reach_probes`` adds every probe fit (probes run
    before the first trial, on subsamples, and never count as reaching the target);
    ``reach_tol_<t>`` is ``reach`` for coming within ``t`` of the target.
    """
    ok = df[df["error"].isna() | (df["error"] == "")]
    cold = ok[ok["method"] == "optuna_cold"].set_index(["dataset", "seed"])
    rows = []
    for row in ok[ok["method"] != "optuna_cold"].itertuples(index=False):
        if (row.dataset, row.seed) not in cold.index:
            continue
        base = _trajectory(cold.at[(row.dataset, row.seed), "trial_scores"])[:COLD_TRIALS]
        if not np.isfinite(base).any():
            continue
        target = float(np.nanmax(base))
        scores = _trajectory(row.trial_scores)
        reach = trials_to_reach(scores, target)
        rows.append({"variant": row.variant, "dataset": row.dataset, "seed": row.seed,
                     "cold_trials": len(base), "cold_best": target,
                     "warm_trials": int(row.n_trials), "probes": int(row.n_probes),
                     "reach": reach, "reach_probes": reach + row.n_probes,
                     **{f"reach_tol_{t:g}": trials_to_reach(scores, target - t)
                        for t in REACH_TOLERANCES}})
    return pd.DataFrame(rows)


def write_efficiency_report(out: Path) -> None:
    """efficiency.md (variants' medians, per-dataset table) and efficiency_summary.csv."""
    raw = pd.read_csv(out / "efficiency.csv")
    table = efficiency_table(raw)
    if table.empty:
        return
    order = list(dict.fromkeys(table["variant"]))
    summary = (table.groupby("variant", sort=False)
               .agg(runs=("reach", "size"), median_reach=("reach", "median"),
                    median_reach_probes=("reach_probes", "median"),
                    reached=("reach", lambda r: int(np.isfinite(r).sum())),
                    within_5=("reach", lambda r: int((r <= 5).sum())),
                    **{f"median_reach_tol_{t:g}": (f"reach_tol_{t:g}", "median")
                       for t in REACH_TOLERANCES})
               .reindex(order).reset_index())
    intervals = {variant: "[{:g}, {:g}]".format(*bootstrap_interval(part["reach"], part["dataset"]))
                 for variant, part in table.groupby("variant")}
    summary.insert(3, "median_reach_90ci", summary["variant"].map(intervals))
    summary.to_csv(out / "efficiency_summary.csv", index=False)
    table.to_csv(out / "efficiency_table.csv", index=False)
    wide = table.pivot_table(index=["dataset", "seed", "cold_trials", "cold_best"],
                             columns="variant", values=["reach", "reach_probes"])
    wide.columns = [f"{variant}: {what}" for what, variant in wide.columns]
    wide = wide[[f"{v}: {w}" for v in order for w in ("reach", "reach_probes")]]
    lines = ["# Warm-start efficiency on exact trial counts", "",
             "Each variant's rows come from the command named beside it below. "
             f"Per held-out dataset and seed (outer 75/25 split of compare.py; meta-model "
             f"retrained without the benchmark groups), the cold-start search "
             f"(`warm_start=False`) and the warm-started one each run exactly {COLD_TRIALS} "
             f"trials (`n_trials={COLD_TRIALS}`, `time_budget={EFFICIENCY_BUDGET}` as a mere "
             "guard), same CV splits and seed, n_jobs=1, one fresh process per run, so the "
             "numbers do not depend on machine load.", "",
             f"`reach` = trials the warm search needs to reach the best CV score the cold "
             f"search has after {COLD_TRIALS} trials (`inf` = not within {COLD_TRIALS}); "
             "probes are not trials. `reach_probes` also counts each probe fit (on a "
             "subsample) as one trial. Target: median `reach` <= 5. `median_reach_tol_T`: "
             "the same for coming within T (AUC) of the cold best, a view of how far the "
             "misses are (not the target). `median_reach_90ci`: where the median could lie, "
             "from a bootstrap over the datasets (both seeds together); variants whose "
             "intervals overlap widely are not told apart by these runs. The yardstick "
             f"`{REFERENCE}` is what a second cold search needs: the cold best is the maximum "
             f"of {COLD_TRIALS} noisy CV estimates, which another search of the same quality "
             "repeats only late.", "",
             "## Variants (in the order they were tried)", "",
             *[f"- `{name}`: {VARIANT_NOTES.get(name, 'no note')} "
               f"(`{efficiency_command(raw[raw['variant'] == name], out, name)}`)"
               for name in order], "",
             _markdown(summary), "",
             "## Per dataset", "", _markdown(wide.reset_index()), ""]
    (out / "efficiency.md").write_text("\n".join(lines))


# ------------------------------------------------------------------------------ report
def comparable(out: Path) -> pd.DataFrame:
    """Rows of every method at every budget (defaults repeated; a run of defaults alone stays
    at budget 0), complete (dataset, seed) only."""
    df = pd.read_csv(out / "compare.csv")
    budgets = sorted(b for b in df["budget"].unique() if b > 0) or [0]
    parts = [df[df["budget"] > 0]] + [df[df["budget"] == 0].assign(budget=b) for b in budgets]
    full = pd.concat(parts, ignore_index=True)
    methods = full["method"].nunique()
    counts = full.groupby(["dataset", "seed", "budget"])["roc_auc"].transform("count")
    return full[counts == methods]


def summary(full: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per budget and method: mean score, mean rank, and MetaSel against it: wins/ties/losses,
    the mean rank gap and the mean score gain, each with its bootstrap interval over datasets
    (an interval that holds 0 leaves the order of the two undecided by these rows)."""
    rows = []
    for budget, part in full.groupby("budget"):
        table = part.pivot_table(index=["dataset", "seed"], columns="method", values=metric)
        ranks = table.rank(axis=1, ascending=False, method="average")
        datasets = table.index.get_level_values("dataset").to_series(index=table.index)
        for method in table.columns:
            # a run of the peers alone (``--methods optuna_cold``) has no MetaSel to compare
            versus = method != "metasel" and "metasel" in table.columns
            rows.append({
                "budget": budget, "method": method, "n": len(table),
                f"mean_{metric}": table[method].mean(), "mean_rank": ranks[method].mean(),
                "metasel_w/t/l": wins_ties_losses(table["metasel"] - table[method])
                if versus else "",
                "metasel_rank_gap_90ci": _mean_and_interval(
                    ranks["metasel"] - ranks[method], datasets) if versus else "",
                "metasel_gain_90ci": _mean_and_interval(
                    table["metasel"] - table[method], datasets) if versus else "",
            })
    return pd.DataFrame(rows).sort_values(["budget", "mean_rank"])


def _mean_and_interval(values: pd.Series, datasets: pd.Series) -> str:
    """``"mean [low, high]"``: the mean of paired differences and its bootstrap interval."""
    low, high = bootstrap_interval(values, datasets, np.mean)
    return f"{values.mean():+.4f} [{low:+.4f}, {high:+.4f}]"


def wins_ties_losses(diff: pd.Series) -> str:
    """``"w/t/l"`` of score differences (MetaSel minus a rival), ties within TIE."""
    return f"{(diff > TIE).sum()}/{(diff.abs() <= TIE).sum()}/{(diff < -TIE).sum()}"


def warm_start_efficiency(df: pd.DataFrame) -> pd.DataFrame:
    """Per dataset: trials the warm search needs to reach cold start's best after 50 trials."""
    budget = df.loc[df["method"] == "optuna_cold", "budget"].max()
    rows = []
    for (dataset, seed), part in df[df["budget"] == budget].groupby(["dataset", "seed"]):
        by = part.set_index("method")
        if not {"metasel", "optuna_cold"} <= set(by.index):
            continue
        cold = _trajectory(by.at["optuna_cold", "trial_scores"])[:COLD_TRIALS]
        warm = _trajectory(by.at["metasel", "trial_scores"])
        if not np.isfinite(cold).any():
            continue
        target = np.nanmax(cold)
        rows.append({"dataset": dataset, "seed": seed, "budget": budget,
                     "cold_trials": len(cold), "cold_best": target, "warm_trials": len(warm),
                     "trials_to_reach": trials_to_reach(warm, target)})
    return pd.DataFrame(rows)


def bootstrap_interval(values: pd.Series, groups: pd.Series,
                       statistic: Callable[[np.ndarray], float] = np.median, *,
                       seed: int = 0) -> tuple[float, float]:
    """Bootstrap interval (BOOTSTRAP_COVERAGE) of ``statistic`` of ``values``, resampling
    whole ``groups`` (a dataset's seeds share its difficulty, so they are not independent
    draws).

    Quantiles are taken without interpolation: a median may be ``inf`` (not reached).
    """
    names = pd.unique(groups)
    members = [values[groups == name].to_numpy(float) for name in names]
    rng = np.random.default_rng(seed)
    picks = rng.integers(len(names), size=(BOOTSTRAP_RESAMPLES, len(names)))
    stats = np.array([statistic(np.concatenate([members[i] for i in pick])) for pick in picks])
    tail = (1 - BOOTSTRAP_COVERAGE) / 2
    return (float(np.quantile(stats, tail, method="lower")),
            float(np.quantile(stats, 1 - tail, method="higher")))


def trials_to_reach(scores: np.ndarray, target: float) -> float:
    """1-based index of the first score >= ``target`` (NaN = failed/pruned trial); inf if none."""
    reached = np.flatnonzero(np.nan_to_num(scores, nan=-np.inf) >= target)
    return float(reached[0] + 1) if reached.size else np.inf


def _trajectory(text: Any) -> np.ndarray:
    if not isinstance(text, str) or not text:
        return np.array([])
    return np.array([np.nan if v is None else v for v in json.loads(text)], dtype=float)


def write_report(out: Path) -> None:
    """compare.md and the two plots, from compare.csv."""
    raw = pd.read_csv(out / "compare.csv")
    full = comparable(out)
    excluded = json.loads((out / "meta_holdout" / "excluded.json").read_text()) if (
        out / "meta_holdout" / "excluded.json").exists() else {}
    eff = warm_start_efficiency(raw)
    lines = ["# Equal-budget comparison", "",
             f"Command: `{rows_command(raw, out)}` (2 shared cores, n_jobs=1 for every method, "
             "outer 75/25 stratified split, the same seeds; scores on the outer test part).", "",
             f"Datasets ({full['dataset'].nunique()} complete): "
             f"{', '.join(sorted(full['dataset'].unique()))}. They are kept out of the "
             f"meta-model: it was retrained without the groups {excluded.get('groups', '?')} "
             f"({len(excluded.get('kb_datasets', []))} KB datasets held out, of which "
             f"{len(excluded.get('look_alikes', []))} only because they look like a benchmark "
             "table: its shape, or its columns' statistics; "
             f"{excluded.get('n_train', '?')} training datasets left).", ""]
    tables = {metric: summary(full, metric) for metric in ("roc_auc", "balanced_accuracy")}
    for metric, table in tables.items():
        lines += [f"## {metric} (mean over datasets; rank 1 = best; "
                  f"w/t/l = MetaSel wins/ties/losses against the row's method, tie < {TIE})", "",
                  "`metasel_rank_gap_90ci`: MetaSel's mean rank minus the row's method's "
                  "(negative: MetaSel ranks better), `metasel_gain_90ci`: MetaSel's mean score "
                  f"minus the method's; each with its {BOOTSTRAP_COVERAGE:.0%} bootstrap "
                  "interval over the datasets (a dataset's seeds resampled together). An "
                  "interval that holds 0 leaves the order undecided by these rows.", "",
                  _markdown(table), ""]
    searched = raw[raw["budget"] > 0].assign(lost_s=raw.get("lost_s", np.nan))
    times = searched.groupby(["budget", "method"]).agg(
        mean=("fit_time", "mean"), max=("fit_time", "max"), lost_mean=("lost_s", "mean"))
    lines += ["## Fit wall time (s)", "",
              "`lost_mean`: seconds per fit spent in trials that ended without a score "
              "(stopped between folds or cut for lack of time; MetaSel and cold Optuna only).",
              "", _markdown(times.round(2).reset_index()), ""]
    if not eff.empty:
        finite = eff["trials_to_reach"]
        lines += ["## Warm-start efficiency within the time budget", "",
                  f"Trials the warm-started search needs to reach the best CV score that the "
                  f"cold-start search reaches in its first {COLD_TRIALS} trials, both within "
                  f"the {int(eff['budget'].iloc[0])} s budget (so the cold search may have run "
                  f"fewer trials; `inf` = not reached within the budget): "
                  f"**median {np.median(finite):.1f}** over {len(eff)} datasets. The "
                  "load-independent measurement on exact trial counts is in efficiency.md "
                  "(`--efficiency`).", "",
                  _markdown(eff), ""]
    (out / "compare.md").write_text("\n".join(lines))
    _plots(full, tables["roc_auc"], raw, out)


def rows_command(raw: pd.DataFrame, out: Path) -> str:
    """The compare.py command that produces (or resumes) the rows of ``raw`` in ``out``.

    Read from the rows rather than from this run's options: the report is often rebuilt with
    ``--report-only`` from runs whose CSVs were concatenated (seeds run side by side).
    """
    options = []
    budgets = sorted(int(b) for b in raw["budget"].unique() if b > 0)
    if budgets != sorted(BUDGETS):
        options.append("--budgets " + " ".join(map(str, budgets)))
    methods = [m for m in (*SEARCHERS, *DEFAULTS) if m in set(raw["method"])]
    if len(methods) != len(SEARCHERS) + len(DEFAULTS):
        options.append("--methods " + " ".join(methods))
    return _command(raw, out, options)


def efficiency_command(raw: pd.DataFrame, out: Path, variant: str) -> str:
    """The ``--efficiency`` command that produces (or resumes) ``variant``'s rows of ``raw``."""
    rival = "--reference" if variant == REFERENCE else f"--variant {variant}"
    return _command(raw, out, ["--efficiency", rival])


def _command(raw: pd.DataFrame, out: Path, options: list[str]) -> str:
    """compare.py with ``options`` and the datasets, seeds and ``--out`` of ``raw``'s rows
    (each left out where it is the default)."""
    parts = ["python benchmarks/compare.py", *options]
    datasets = list(dict.fromkeys(raw["dataset"]))
    if set(datasets) != set(DATASETS):
        parts.append("--datasets " + " ".join(datasets))
    seeds = sorted(int(s) for s in raw["seed"].unique())
    if seeds != sorted(SEEDS):
        parts.append("--seeds " + " ".join(map(str, seeds)))
    if out.resolve() != RESULTS.resolve():
        where = out.resolve()
        parts.append(f"--out {where.relative_to(ROOT) if where.is_relative_to(ROOT) else where}")
    return " ".join(parts)


def _markdown(frame: pd.DataFrame) -> str:
    """A GitHub markdown table (floats with 4 decimals), without extra dependencies."""
    def cell(value: Any) -> str:
        return f"{value:.4f}" if isinstance(value, float) and not value.is_integer() else str(value)

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def _plots(full: pd.DataFrame, ranked: pd.DataFrame, raw: pd.DataFrame, out: Path) -> None:
    """compare_score_vs_budget.png (``ranked``: the ROC AUC summary) and
    compare_trials_to_reach.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for method, part in full.groupby("method"):
        means = part.groupby("budget")["roc_auc"].mean()
        ranks = ranked.query("method == @method").set_index("budget")
        axes[0].plot(means.index, means.values, marker="o", label=method)
        axes[1].plot(ranks.index, ranks["mean_rank"], marker="o", label=method)
    axes[0].set(xlabel="time budget (s)", ylabel="mean test ROC AUC", title="Score vs budget")
    axes[1].set(xlabel="time budget (s)", ylabel="mean rank (1 = best)", title="Rank vs budget")
    axes[1].invert_yaxis()
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "compare_score_vs_budget.png", dpi=120)
    plt.close(fig)

    budget = raw.loc[raw["method"] == "optuna_cold", "budget"].max()
    fig, ax = plt.subplots(figsize=(6, 4))
    for method, style in (("metasel", "-"), ("optuna_cold", "--")):
        curves = []
        for _, row in raw[(raw["method"] == method) & (raw["budget"] == budget)].iterrows():
            scores = _trajectory(row["trial_scores"])
            if scores.size:
                curve = np.fmax.accumulate(np.nan_to_num(scores, nan=0.0))
                curves.append(np.pad(curve, (0, max(0, COLD_TRIALS - curve.size)), mode="edge")
                              [:COLD_TRIALS])
        if curves:
            ax.plot(np.arange(1, COLD_TRIALS + 1), np.mean(curves, axis=0), style, label=method)
    ax.set(xlabel="trial", ylabel="best CV ROC AUC so far (mean over datasets)",
           title=f"Trials to reach cold start's best ({budget} s runs)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "compare_trials_to_reach.png", dpi=120)
    plt.close(fig)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--budgets", nargs="+", type=int, default=list(BUDGETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--methods", nargs="+", choices=[*SEARCHERS, *DEFAULTS],
                        default=[*SEARCHERS, *DEFAULTS])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--efficiency", action="store_true",
                        help=f"warm-start efficiency on exactly {COLD_TRIALS} trials per search")
    parser.add_argument("--variant", default="baseline",
                        help="label of the warm-start code under test (--efficiency rows)")
    parser.add_argument("--reference", action="store_true",
                        help="--efficiency: run a reseeded cold search instead of a warm one")
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    run, report = ((run_efficiency, write_efficiency_report) if args.efficiency
                   else (run_all, write_report))
    if not args.report_only:
        run(args)
    report(args.out)


if __name__ == "__main__":
    main()
