"""Our meta-features agree with OpenML's published qualities on the same source files."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARFF_ROOT = ROOT.parent / "shared" / "datasets" / "arff"

pytestmark = [
    pytest.mark.skipif(not ARFF_ROOT.is_dir(), reason="../shared/datasets/arff (the ARFF corpus) is absent"),
    pytest.mark.skipif(importlib.util.find_spec("lcdb") is None, reason="lcdb (OpenML's qualities in datasets.csv) is not installed"),
]


def _benchmark():
    spec = importlib.util.spec_from_file_location("metafeatures_agreement", ROOT / "benchmarks" / "metafeatures_agreement.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _assert_targets(table) -> None:
    assert len(table) > 0, "no ARFF file matched an OpenML id"
    landmark = table["group"] == "landmarker"
    rest = table.loc[~landmark, "agree"]
    assert rest.mean() >= 0.95, table.loc[~landmark & ~table["agree"]].to_string()
    assert table.loc[landmark, "agree"].mean() >= 0.95, table.loc[landmark & ~table["agree"]].to_string()


def test_quick_subset_agrees_with_openml():
    bench = _benchmark()
    table = bench.agreement_table(bench.lcdb_qualities(), bench.QUICK)
    assert table["openml_id"].nunique() >= 5
    _assert_targets(table)


@pytest.mark.slow
def test_every_matching_dataset_agrees_with_openml():
    bench = _benchmark()
    table = bench.agreement_table(bench.lcdb_qualities())
    assert table["openml_id"].nunique() >= 15
    _assert_targets(table)
