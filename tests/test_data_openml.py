"""The real `openml` loading path, against a local OpenML cache built fresh for each test
(there is no network here; a failed lookup deletes openml's cache folder for that id)."""

from __future__ import annotations

import time
from pathlib import Path

import arff
import pytest

from metasel.data import DataWarning, load_dataset
from metasel.exceptions import DataError, SourceNotFoundError

DESCRIPTION = """<oml:data_set_description xmlns:oml="http://openml.org/openml">
  <oml:id>{id}</oml:id>
  <oml:name>tiny-credit</oml:name>
  <oml:version>1</oml:version>
  <oml:format>ARFF</oml:format>
  <oml:url>https://api.openml.org/data/v1/download/{id}/tiny-credit.arff</oml:url>
  <oml:default_target_attribute>class</oml:default_target_attribute>
  <oml:status>active</oml:status>
</oml:data_set_description>
"""


def _write_cached_dataset(root: Path, data_id: int) -> None:
    folder = root / "org" / "openml" / "www" / "datasets" / str(data_id)
    folder.mkdir(parents=True)
    (folder / "description.xml").write_text(DESCRIPTION.format(id=data_id))
    rows = [[round(i * 1.37 % 7, 2), ["a", "b", "c"][i % 3], ["good", "bad"][i % 2 == 0 and i % 5 == 0]]
            for i in range(60)]
    (folder / "dataset.arff").write_text(arff.dumps({
        "relation": "tiny-credit",
        "attributes": [("amount", "NUMERIC"), ("purpose", ["a", "b", "c"]), ("class", ["good", "bad"])],
        "data": rows,
    }))


def test_openml_id_loads_from_the_local_cache(tmp_path):
    _write_cached_dataset(tmp_path, 424242)
    data = load_dataset("openml:424242", cache_dir=tmp_path)
    assert data.name == "tiny-credit" and data.source == "openml" and data.source_id == "424242"
    assert data.shape == (60, 2)
    assert data.categorical_columns == ["purpose"]
    assert sorted(data.y.cat.categories) == ["bad", "good"]
    assert data.group == "tinycredit"
    assert data.target_column == "class", "OpenML's default target names the label column"


def test_a_numeric_openml_target_is_refused_or_binarised(tmp_path):
    _write_cached_dataset(tmp_path, 424243)
    with pytest.raises(DataError, match="looks continuous"):
        load_dataset("openml:424243", target="amount", cache_dir=tmp_path)
    with pytest.warns(DataWarning, match="Binarised the numeric target of 'tiny-credit'"):
        data = load_dataset("openml:424243", target="amount", cache_dir=tmp_path,
                            numeric_target="binarize")
    assert data.y.cat.categories.tolist() == ["N", "P"] and data.target_column == "amount"


def test_uncached_id_offline_fails_fast_with_a_clear_message(tmp_path):
    start = time.perf_counter()
    with pytest.raises(SourceNotFoundError, match="neither in the cache .* nor reachable"):
        load_dataset("openml:987654321", cache_dir=tmp_path)
    assert time.perf_counter() - start < 30  # the default retry policy would take minutes


def test_non_integer_openml_id_is_refused():
    with pytest.raises(ValueError, match="integer data id"):
        load_dataset("openml:credit-g")
