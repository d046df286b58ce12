"""Leave-one-group-out evaluation of rankers, probes and warm starts on a knowledge base.

Every number is measured on datasets whose whole group (all variants of one source) was
held out of the training fold: the scaler, the rankers and the warm-start proposer are all
refitted per fold, on training rows only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import gammaln

from metasel.meta._forest import ForestRanker
from metasel.meta._model import CONFIG_NEIGHBOURS, DEFAULT_K, KNN_WEIGHT, score_intervals
from metasel.meta._probes import PRIOR_WEIGHT, combine_utilities
from metasel.meta._rankers import (
    AverageRank,
    BlendRanker,
    KNNRanker,
    LGBMRanker,
    Ranker,
    SingleBest,
)
from metasel.meta._scaling import FeatureScaler
from metasel.meta._table import (
    METRICS_HIGHER_IS_BETTER,
    KnowledgeBaseLike,
    MetaTable,
    build_meta_table,
)
from metasel.meta._warmstart import WarmStarter

BASELINE = "single_best"
TOP_KS = (1, 3, 5)
PROBE_ANCHORS = (256, 512, 1024)
PROBE_KS = (1, 3, 5)
WARM_NS = (1, 5, 10)
#: first trials of a warm search: how many learners they may span, and the counts reported
FIRST_TRIAL_LEARNERS = 5
FIRST_NS = (1, 2, 3, 5, 10)
#: the first trials are also compared with the best of this many random KB configurations
RANDOM_RIVAL = 50
PRIOR_WEIGHTS = tuple(sorted({0.0, 0.25, PRIOR_WEIGHT, 1.0}))


def meta_model_ranker(random_state: int = 0) -> Ranker:
    """The ranker :class:`MetaModel` uses, so the evaluation measures what ships."""
    forest = ForestRanker(random_state=random_state)
    if not KNN_WEIGHT:
        return forest
    return BlendRanker([forest, KNNRanker(k=DEFAULT_K)], [1.0, KNN_WEIGHT])


def default_methods(random_state: int = 0) -> dict[str, Callable[[], Ranker]]:
    """The rankers compared by default: two static baselines, the k-nearest-datasets ranker,
    a LightGBM regression over (meta-features, learner), the previous meta-model (extra-trees
    on each learner's score relative to the best, clipped at -0.1) and the shipped one."""
    return {
        "single_best": SingleBest,
        "average_rank": AverageRank,
        f"knn{DEFAULT_K}": lambda: KNNRanker(k=DEFAULT_K),
        "lightgbm": lambda: LGBMRanker(random_state=random_state),
        "relative_forest": lambda: ForestRanker(clip=0.1, pairwise=0.0,
                                                random_state=random_state),
        "meta_model": lambda: meta_model_ranker(random_state),
    }


def logo_folds(groups: np.ndarray) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(group, train indices, test indices) holding out one group at a time."""
    groups = np.asarray(groups)
    for g in pd.unique(groups):
        test = groups == g
        yield str(g), np.flatnonzero(~test), np.flatnonzero(test)


@dataclass
class LodoResult:
    """Tables of a leave-one-group-out run; ``summary`` is the headline table."""

    metric: str
    n_datasets: int
    n_groups: int
    summary: pd.DataFrame
    per_dataset: pd.DataFrame  # dataset_id, method, regret
    probes: pd.DataFrame = field(default_factory=pd.DataFrame)
    warmstart: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the first n trials of a warm search, per way of choosing them (regret, beats_random)
    first_trials: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: share of held-out (dataset, learner) scores inside the recommended interval
    interval_coverage: float = float("nan")


def _masked(U: np.ndarray, S: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(S), -np.inf, U)


def ranking_metrics(U: np.ndarray, S: np.ndarray) -> dict[str, np.ndarray]:
    """Per-dataset regret@1, best-of-top-k regret, NDCG@3 and Spearman of utilities ``U``."""
    order = np.argsort(-_masked(U, S), axis=1, kind="stable")
    ranked = np.take_along_axis(S, order, axis=1)
    best = np.nanmax(S, axis=1)
    out = {}
    for k in TOP_KS:
        out[f"best_of_top{k}"] = best - np.nanmax(ranked[:, :k], axis=1)
    worst = np.nanmin(S, axis=1)
    with np.errstate(all="ignore"):
        gain = np.nan_to_num((S - worst[:, None]) / (best - worst)[:, None])
    discount = 1.0 / np.log2(np.arange(2, 2 + min(3, S.shape[1])))
    dcg = (np.take_along_axis(gain, order, 1)[:, :3] * discount).sum(1)
    ideal = (-np.sort(-gain, axis=1)[:, :3] * discount).sum(1)
    out["ndcg3"] = np.where(ideal > 0, dcg / np.where(ideal > 0, ideal, 1), 1.0)
    rank_u = pd.DataFrame(_masked(U, S)).rank(axis=1).where(~np.isnan(S))
    rank_s = pd.DataFrame(S).rank(axis=1)
    out["spearman"] = rank_u.T.corrwith(rank_s.T).to_numpy()
    return out


def probe_table(evaluations: pd.DataFrame, table: MetaTable, anchor: int) -> np.ndarray:
    """(datasets x learners) score at the largest training size <= ``anchor`` (NaN if none).

    A probe must be cheap and must not be the final result in disguise: only training sizes
    of at most half the final one (the size the table's score comes from) count. Without
    this rule a 500-row dataset's "probe at 1,024 rows" would be its final score.
    """
    sign = 1.0 if METRICS_HIGHER_IS_BETTER[table.metric] else -1.0
    ok = evaluations[(evaluations["status"] == "ok") & evaluations[table.metric].notna()]
    final = ok.groupby(["dataset_id", "learner"])["train_size"].transform("max")
    ev = ok[(ok["train_size"] <= anchor) & (ok["train_size"] <= final / 2)]
    if ev.empty:
        return np.full(table.scores.shape, np.nan)
    largest = ev.groupby(["dataset_id", "learner"])["train_size"].transform("max")
    ev = ev[ev["train_size"] == largest]
    wide = (sign * ev.groupby(["dataset_id", "learner"])[table.metric].max()).unstack("learner")
    return wide.reindex(index=table.scores.index, columns=table.scores.columns).to_numpy(float)


def _probe_rows(prior: np.ndarray, S: np.ndarray, evaluations: pd.DataFrame,
                table: MetaTable, baseline: float) -> pd.DataFrame:
    rows = []
    best = np.nanmax(S, axis=1)
    order = np.argsort(-_masked(prior, S), axis=1, kind="stable")
    for anchor in PROBE_ANCHORS:
        P = probe_table(evaluations, table, anchor)
        if np.isnan(P).all():
            continue
        for k in (*PROBE_KS, S.shape[1]):
            mask = np.zeros_like(S, dtype=bool)
            np.put_along_axis(mask, order[:, :k], True, axis=1)
            probes = np.where(mask, P, np.nan)
            for weight in PRIOR_WEIGHTS:
                label = "probe_only" if weight == 0 else f"prior+probe(w={weight:g})"
                U = combine_utilities(prior, probes, weight)
                pick = np.argmax(_masked(U, S), axis=1)
                regret = best - S[np.arange(len(S)), pick]
                rows.append({"method": label, "anchor": anchor,
                             "probed": "all" if k == S.shape[1] else f"top{k}",
                             "regret_mean": np.nanmean(regret),
                             "closed_gap": (baseline - np.nanmean(regret)) / baseline})
    return pd.DataFrame(rows)


def _expected_best_of_random(scores: np.ndarray, n: int) -> float:
    """Expected maximum of ``n`` draws without replacement from ``scores``."""
    s = np.sort(scores)
    m = len(s)
    n = min(n, m)
    # P(max is the i-th smallest) = C(i-1, n-1) / C(m, n), i = n..m
    i = np.arange(1, m + 1)
    with np.errstate(all="ignore"):
        logp = (gammaln(i) - gammaln(n) - gammaln(i - n + 1)) - (
            gammaln(m + 1) - gammaln(n + 1) - gammaln(m - n + 1))
    p = np.where(i >= n, np.exp(logp), 0.0)
    return float((p * s).sum() / p.sum())


def _chance_best_of_random_below(scores: np.ndarray, n: int, value: float) -> float:
    """P(the best of ``n`` draws without replacement from ``scores`` is <= ``value``)."""
    m, below = len(scores), int((scores <= value).sum())
    n = min(n, m)
    if below < n:
        return 0.0
    return float(np.exp(gammaln(below + 1) - gammaln(below - n + 1)
                        - gammaln(m + 1) + gammaln(m - n + 1)))


def _first_trial_rows(table: MetaTable, starter: WarmStarter, train: np.ndarray,
                      test: np.ndarray, neighbours: np.ndarray, utility: np.ndarray) -> list[dict]:
    """The first trials of a warm search on each held-out dataset, chosen as a set across the
    top learners (``first_trials``, what ships) or one per top learner (``round_robin``);
    ``global_portfolio`` ignores the meta-features (one greedy portfolio over every training
    dataset and learner), to show what they add.

    Scored on the held-out dataset's own recorded configurations: regret against the best of
    them, and how often the first trials beat the best of ``RANDOM_RIVAL`` random ones.
    """
    configs = table.configs
    searchable = sorted(configs.loc[configs["origin"] == "sampled", "learner"].unique())
    columns = [table.learners.index(name) for name in searchable]
    ids = table.scores.index
    rows = []
    for j, t in enumerate(test):
        mine = configs[(configs["dataset_id"] == ids[t]) & configs["learner"].isin(searchable)]
        score = mine.groupby("config_id")["score"].max()
        if len(score) < RANDOM_RIVAL:
            continue
        pool = score.to_numpy(float)
        top = [searchable[i] for i in np.argsort(-utility[j, columns], kind="stable")
               [:FIRST_TRIAL_LEARNERS]]
        near = [str(d) for d in ids[train][neighbours[j]]]
        chosen = {"first_trials": starter.first_trials(top, near, max(FIRST_NS)),
                  "round_robin": [c for name in top for c in starter.propose(name, near, 1)],
                  "global_portfolio": starter.first_trials(searchable, list(ids[train]),
                                                           max(FIRST_NS))}
        for method, configs_tried in chosen.items():
            for n in FIRST_NS:
                got = score.reindex(configs_tried[:n]).dropna()
                value = got.max() if len(got) else -np.inf
                rows.append({"dataset_id": ids[t], "method": method, "n": n,
                             "regret": pool.max() - value if len(got) else np.nan,
                             "beats_random": _chance_best_of_random_below(
                                 pool, RANDOM_RIVAL, value)})
        rows += [{"dataset_id": ids[t], "method": "random", "n": n,
                  "regret": pool.max() - _expected_best_of_random(pool, n)} for n in FIRST_NS]
    return rows


def _warm_rows(table: MetaTable, starter: WarmStarter, train: np.ndarray, test: np.ndarray,
               neighbours: np.ndarray) -> list[dict]:
    """Warm-start regrets on the held-out datasets of one fold (sampled configurations only)."""
    configs = table.configs
    ids = table.scores.index
    held = configs[configs["dataset_id"].isin(ids[test])]
    if not (held["origin"] == "sampled").any():
        return []
    rows = []
    for j, t in enumerate(test):
        mine = held[held["dataset_id"] == ids[t]]
        near = [str(d) for d in ids[train][neighbours[j]]]
        for learner, cfg in mine.groupby("learner"):
            sampled = cfg[cfg["origin"] == "sampled"]
            if sampled.empty or cfg["config_id"].nunique() < 2:
                continue
            score = cfg.groupby("config_id")["score"].max()
            best = score.max()
            proposed = starter.propose(str(learner), near, max(WARM_NS))
            default = cfg.loc[cfg["origin"] == "default", "score"]
            for n in WARM_NS:
                got = score.reindex(proposed[:n]).dropna()
                rows.append({
                    "dataset_id": ids[t], "learner": learner, "n": n,
                    "proposed": best - got.max() if len(got) else np.nan,
                    "coverage": len(got) / max(1, min(n, len(proposed))),
                    "default": best - default.max() if len(default) else np.nan,
                    "random": best - _expected_best_of_random(sampled["score"].to_numpy(), n),
                    "known_configs": cfg["config_id"].nunique(),
                })
    return rows


def _inside_interval(X_train: np.ndarray, S_train: np.ndarray, X_test: np.ndarray,
                     S_test: np.ndarray, U_test: np.ndarray) -> np.ndarray:
    """1.0 where a held-out score falls in the interval MetaModel.rank would give, else 0.0."""
    stats = np.stack([score_intervals(X_train, S_train, x, u, DEFAULT_K)
                      for x, u in zip(X_test, U_test, strict=True)])
    hit = (S_test >= stats[..., 1]) & (S_test <= stats[..., 2])
    return np.where(np.isnan(S_test), np.nan, hit.astype(float))


def evaluate_lodo(
    kb: KnowledgeBaseLike | MetaTable,
    metric: str = "roc_auc",
    *,
    methods: dict[str, Callable[[], Ranker]] | None = None,
    min_coverage: float = 0.9,
    probes: bool = True,
    random_state: int = 0,
    unmeasured: Sequence[str] = (),
) -> LodoResult:
    """Leave-one-group-out comparison of ``methods`` (default: :func:`default_methods`).

    ``unmeasured``: meta-features the held-out dataset lacks at query time (the training
    datasets keep them), e.g. the landmarkers that ``recommend_within`` skips on a deadline.
    """
    table = kb if isinstance(kb, MetaTable) else build_meta_table(kb, metric, min_coverage=min_coverage)
    query_features = table.features.assign(
        **{name: np.nan for name in unmeasured if name in table.features})
    methods = methods or default_methods(random_state)
    S = table.scores.to_numpy(float)
    utilities = {name: np.full_like(S, np.nan) for name in methods}
    warm: list[dict] = []
    first: list[dict] = []
    prior_name = "meta_model" if "meta_model" in methods else next(iter(methods))
    inside = np.full(S.shape, np.nan)
    for _, train, test in logo_folds(table.groups):
        scaler = FeatureScaler.fit(table.features.iloc[train])
        X_train = scaler.transform(table.features.iloc[train])
        X_test = scaler.transform(query_features.iloc[test])
        for name, make in methods.items():
            utilities[name][test] = make().fit(X_train, S[train]).predict(X_test)
        neighbours, _ = KNNRanker(k=CONFIG_NEIGHBOURS).fit(X_train, S[train]).neighbours(X_test)
        starter = WarmStarter.fit(table.configs[table.configs["dataset_id"].isin(
            table.scores.index[train])])
        warm.extend(_warm_rows(table, starter, train, test, neighbours))
        first.extend(_first_trial_rows(table, starter, train, test, neighbours,
                                       utilities[prior_name][test]))
        if "meta_model" in utilities:
            inside[test] = _inside_interval(X_train, S[train], X_test, S[test],
                                            utilities["meta_model"][test])
    per_method = {name: ranking_metrics(U, S) for name, U in utilities.items()}
    base_name = BASELINE if BASELINE in per_method else next(iter(per_method))
    baseline = float(np.nanmean(per_method[base_name]["best_of_top1"]))
    summary = pd.DataFrame([
        {"method": name, "regret_mean": np.nanmean(m["best_of_top1"]),
         "regret_median": np.nanmedian(m["best_of_top1"]),
         "closed_gap": (baseline - np.nanmean(m["best_of_top1"])) / baseline if baseline else np.nan,
         "ndcg3": np.nanmean(m["ndcg3"]), "spearman": np.nanmean(m["spearman"]),
         **{f"best_of_top{k}": np.nanmean(m[f"best_of_top{k}"]) for k in TOP_KS}}
        for name, m in per_method.items()
    ])
    per_dataset = pd.concat([
        pd.DataFrame({"dataset_id": table.scores.index, "method": name,
                      "regret": m["best_of_top1"]}) for name, m in per_method.items()
    ], ignore_index=True)
    probe_rows = pd.DataFrame()
    if probes and not isinstance(kb, MetaTable) and baseline > 0:
        probe_rows = _probe_rows(utilities[prior_name], S, kb.evaluations, table, baseline)
    warm_frame = pd.DataFrame(warm)
    if not warm_frame.empty:
        pairs = warm_frame.groupby("n").size().rename("pairs")
        warm_frame = warm_frame.groupby("n")[
            ["proposed", "default", "random", "coverage", "known_configs"]].mean()
        warm_frame = warm_frame.join(pairs).reset_index()
    first_frame = pd.DataFrame(first)
    if not first_frame.empty:
        first_frame = (first_frame.groupby(["method", "n"])
                       .agg(regret=("regret", "mean"), regret_median=("regret", "median"),
                            beats_random=("beats_random", "mean"),
                            datasets=("dataset_id", "nunique")).reset_index())
    return LodoResult(metric=table.metric, n_datasets=len(S), n_groups=len(set(table.groups)),
                      summary=summary, per_dataset=per_dataset, probes=probe_rows,
                      warmstart=warm_frame, first_trials=first_frame,
                      interval_coverage=float(np.nanmean(inside)) if np.isfinite(inside).any()
                      else float("nan"))
