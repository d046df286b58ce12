"""OpenML data ids through the `openml` package, with a local cache and a clear offline error."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from metasel.data._clean import from_frame
from metasel.data._dataset import Dataset
from metasel.exceptions import DataError, SourceNotFoundError

#: where the OpenML cache lives unless the caller or $OPENML_CACHE_DIR says otherwise
DEFAULT_CACHE = Path("cache") / "openml"


def load_openml(
    data_id: int | str,
    target: str | None = None,
    *,
    cache_dir: str | Path | None = None,
    numeric_target: Literal["error", "binarize"] = "error",
) -> Dataset:
    """An OpenML dataset by id, its default target unless ``target`` names another (a
    regression target is refused, or split at its mean with ``numeric_target="binarize"``).

    Uses the cache first; the server is asked (once, without the package's minute-long
    retries) only for what is not cached, so an offline machine fails at once with a
    message saying what to do.
    """
    import openml  # slow import: only when OpenML is really used

    data_id = _as_id(data_id)
    with _openml_cache(cache_dir) as root:
        try:
            remote = openml.datasets.get_dataset(
                data_id, download_data=True, download_qualities=False,
                download_features_meta_data=False, cache_format="feather",
            )
        except Exception as error:  # openml raises requests/ConnectionError/Server errors alike
            raise SourceNotFoundError(
                f"OpenML dataset {data_id} is neither in the cache ({root}) nor reachable on the "
                f"server ({type(error).__name__}: {str(error)[:200]}). Connect to the internet "
                "once, or point cache_dir / $OPENML_CACHE_DIR at a cache that holds it."
            ) from error
        target = target or remote.default_target_attribute
        if not target:
            raise DataError(
                f"OpenML dataset {data_id} ({remote.name}) has no default target: pass target=..."
            )
        X, y, _, _ = remote.get_data(target=target, dataset_format="dataframe")
    return from_frame(
        X, y, name=remote.name, source="openml", source_id=str(data_id),
        numeric_target=numeric_target,
    )


def openml_suite_ids(suite_id: int | str, *, cache_dir: str | Path | None = None) -> list[int]:
    """The data ids of an OpenML benchmark suite or study (needs the server)."""
    import openml

    with _openml_cache(cache_dir):
        try:
            suite = openml.study.get_suite(suite_id)
        except Exception as error:
            raise SourceNotFoundError(
                f"OpenML suite {suite_id} could not be fetched ({type(error).__name__}): "
                "suites are only available online."
            ) from error
    return [int(i) for i in suite.data]


def _as_id(data_id: int | str) -> int:
    try:
        return int(str(data_id).removeprefix("openml:"))
    except ValueError:
        raise DataError(
            f"An OpenML dataset is named by its integer data id, e.g. 'openml:61'. Got {data_id!r}."
        ) from None


@contextlib.contextmanager
def _openml_cache(cache_dir: str | Path | None) -> Iterator[Path]:
    """Point openml's (global) configuration at our cache and fail-fast retry policy, then
    put the caller's configuration back."""
    import openml

    root = Path(cache_dir or os.environ.get("OPENML_CACHE_DIR") or DEFAULT_CACHE).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    config = openml.config
    saved = (config.get_cache_directory(), config.retry_policy, config.connection_n_retries)
    config.set_root_cache_directory(str(root))
    config.set_retry_policy("robot", 1)
    try:
        yield root
    finally:
        previous_root = Path(saved[0]).parent.parent.parent if saved[0] else None
        if previous_root is not None:
            config.set_root_cache_directory(str(previous_root))
        config.set_retry_policy(saved[1], saved[2])
