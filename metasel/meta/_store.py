"""Save and load a :class:`MetaModel` without pickles: JSON + LightGBM text + parquet.

Layout of a meta-model folder::

    meta_model.json   schema version, library versions, metric, KB fingerprint, scaler, learners
    forest.parquet    the extra-trees ranker, flattened to node arrays (one value per learner)
    train.parquet     training datasets: id, name, source, group, scaled features, scores
    configs.parquet   recorded configurations (dataset, learner, config_id, params, score,
                      fit_time: mean fold fit time, seconds; absent in older folders)
    portfolio.parquet greedy portfolio per learner
"""

from __future__ import annotations

import json
from importlib import metadata
from importlib.resources import files
from pathlib import Path
from typing import Any

import pandas as pd

from metasel.exceptions import ArtifactVersionError, KnowledgeBaseError
from metasel.meta._forest import ForestArrays, ForestRanker
from metasel.meta._model import MetaModel
from metasel.meta._scaling import FeatureScaler
from metasel.meta._warmstart import WarmStarter

SCHEMA_VERSION = 1
FORMAT = "metasel-meta-model"
_REBUILD = "Rebuild it with `python benchmarks/train_default_meta.py` (or MetaModel.fit(kb).save(dir))."


def _versions() -> dict[str, str]:
    out = {}
    for package in ("metasel", "lightgbm", "numpy", "pandas"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "unknown"
    return out


def save_meta_model(model: MetaModel, path: str | Path) -> Path:
    """Write ``model`` into folder ``path`` (created if needed); returns the folder."""
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    header: dict[str, Any] = {
        "format": FORMAT, "schema_version": SCHEMA_VERSION, "versions": _versions(),
        "metric": model.metric, "kb_fingerprint": model.fingerprint, "k": model.k,
        "knn_weight": model.knn_weight, "learners": model.learners,
        "scaler": model.scaler.to_dict(),
        "forest": {"clip": model.forest.clip, "pairwise": model.forest.pairwise,
                   "rel_clip": model.forest.rel_clip, "n_estimators": model.forest.n_estimators,
                   "min_samples_leaf": model.forest.min_samples_leaf,
                   "max_features": model.forest.max_features,
                   "random_state": model.forest.random_state},
    }
    features = [f"x{i}" for i in range(model.train_X.shape[1])]
    train = model.train_info.reset_index()
    train = pd.concat([
        train,
        pd.DataFrame(model.train_X, columns=features),
        pd.DataFrame(model.train_scores, columns=[f"score:{n}" for n in model.learners]),
    ], axis=1)
    configs, folio = model.warm.to_frames()
    if model.forest.forest_ is None:
        raise KnowledgeBaseError("Only a fitted MetaModel can be saved; call MetaModel.fit first.")
    model.forest.forest_.to_frame().to_parquet(root / "forest.parquet", index=False)
    train.to_parquet(root / "train.parquet", index=False)
    configs.to_parquet(root / "configs.parquet", index=False)
    folio.to_parquet(root / "portfolio.parquet", index=False)
    (root / "meta_model.json").write_text(json.dumps(header, indent=1))
    return root


def _read(path: Path, reader: Any) -> Any:
    if not path.is_file():
        raise KnowledgeBaseError(f"The meta-model file {path} is missing. {_REBUILD}")
    try:
        return reader(path)
    except Exception as exc:  # any parse failure means a corrupt artifact
        raise KnowledgeBaseError(
            f"The meta-model file {path} is corrupt and cannot be read ({type(exc).__name__}: "
            f"{exc}). {_REBUILD}"
        ) from exc


def load_meta_model(path: str | Path) -> MetaModel:
    """Read a folder written by :func:`save_meta_model`; clear errors if missing or corrupt."""
    root = Path(path)
    header_path = root / "meta_model.json"
    header = _read(header_path, lambda p: json.loads(p.read_text()))
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise KnowledgeBaseError(f"The meta-model file {header_path} is corrupt: it is not a "
                                 f"{FORMAT} header. {_REBUILD}")
    if header.get("schema_version") != SCHEMA_VERSION:
        raise ArtifactVersionError(
            f"The meta-model at {root} has schema version {header.get('schema_version')}; this "
            f"metasel reads version {SCHEMA_VERSION}. {_REBUILD}"
        )
    try:
        learners = list(header["learners"])
        scaler = FeatureScaler.from_dict(header["scaler"])
        metric, fingerprint, k = header["metric"], header["kb_fingerprint"], int(header["k"])
        knn_weight = float(header["knn_weight"])
        forest = ForestRanker(**header["forest"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise KnowledgeBaseError(f"The meta-model file {header_path} is corrupt: field {exc} is "
                                 f"missing or invalid. {_REBUILD}") from exc
    forest.forest_ = _read(root / "forest.parquet",
                           lambda p: ForestArrays.from_frame(pd.read_parquet(p)))
    train = _read(root / "train.parquet", pd.read_parquet)
    configs = _read(root / "configs.parquet", pd.read_parquet)
    folio = _read(root / "portfolio.parquet", pd.read_parquet)
    features = [c for c in train.columns if c.startswith("x") and c[1:].isdigit()]
    score_cols = [f"score:{n}" for n in learners]
    if len(features) != len(scaler.columns) or not set(score_cols) <= set(train.columns):
        raise KnowledgeBaseError(f"The meta-model file {root / 'train.parquet'} does not match "
                                 f"its header {header_path}. {_REBUILD}")
    if forest.forest_.value.shape[1] != len(learners):
        raise KnowledgeBaseError(f"The meta-model file {root / 'forest.parquet'} predicts "
                                 f"{forest.forest_.value.shape[1]} learners; its header "
                                 f"{header_path} lists {len(learners)}. {_REBUILD}")
    return MetaModel(
        metric=metric, scaler=scaler, learners=learners,
        train_info=train.set_index("dataset_id")[["name", "source", "group"]],
        train_X=train[features].to_numpy(dtype=float),
        train_scores=train[score_cols].to_numpy(dtype=float),
        forest=forest, warm=WarmStarter.from_frames(configs, folio),
        fingerprint=str(fingerprint), k=k, knn_weight=knn_weight,
    )


def default_meta_model_path(metric: str = "roc_auc") -> Path:
    """Folder of the meta-model shipped for ``metric`` inside the package."""
    return Path(str(files("metasel") / "resources" / "meta" / metric))


def load_default_meta_model(metric: str = "roc_auc") -> MetaModel:
    """The shipped meta-model for ``metric``; a clear error if it was not shipped."""
    path = default_meta_model_path(metric)
    if not (path / "meta_model.json").is_file():
        shipped = sorted(p.name for p in path.parent.glob("*") if (p / "meta_model.json").is_file()) \
            if path.parent.is_dir() else []
        raise KnowledgeBaseError(
            f"No shipped meta-model for metric {metric!r} at {path}; shipped metrics: {shipped}. "
            f"Use one of those metrics, or {_REBUILD}"
        )
    return load_meta_model(path)

