"""KB storage: atomic writes, resume keys, concurrent writers, corruption and version errors, merge."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from metasel.exceptions import ArtifactVersionError, KnowledgeBaseError
from metasel.kb import KBWriter, KnowledgeBase, _files, merge

ROOT = Path(__file__).resolve().parent.parent


def evaluations(dataset: str, learner: str, configs: list[str], *, size: int = 100,
                accuracy: float = 0.8, status: str = "ok") -> pd.DataFrame:
    n = len(configs)
    return pd.DataFrame({
        "dataset_id": dataset, "group": dataset.split(":")[-1], "learner": learner,
        "config_id": configs, "params": ['{"C": 1.0}'] * n, "origin": "sampled",
        "train_size": size, "accuracy": accuracy,
        "accuracy_folds": [[accuracy - 0.01, accuracy, accuracy + 0.01]] * n,
        "roc_auc": 0.9, "roc_auc_folds": [[0.9, 0.9, 0.9]] * n,
        "fit_time": 0.5, "predict_time": 0.1, "status": status, "seed": 0,
    })


def datasets(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame({
        "dataset_id": ids, "name": ids, "source": "arff", "source_id": ids,
        "group": [i.split(":")[-1] for i in ids], "task": "binary", "n_rows": 150,
        "n_features": 4, "n_classes": 2, "NumberOfInstances": 150.0, "ClassEntropy": 1.0,
    })


def test_written_rows_read_back_with_schema_types(tmp_path):
    writer = KBWriter(tmp_path / "kb")
    writer.write_datasets(datasets(["arff:iris"]))
    writer.write_evaluations(evaluations("arff:iris", "knn", ["a", "b"]))
    kb = KnowledgeBase.open(tmp_path / "kb")
    ev = kb.evaluations
    assert len(ev) == 2
    assert list(ev["accuracy_folds"].iloc[0]) == pytest.approx([0.79, 0.8, 0.81])
    assert ev["n_folds"].tolist() == [3, 3]  # filled from the list length
    assert json.loads(ev["versions"].iloc[0])["pyarrow"]
    assert np.isnan(ev["log_loss"]).all()
    assert kb.metafeature_columns == ["NumberOfInstances", "ClassEntropy"]


def test_a_kb_written_before_an_alias_was_known_reads_back_with_the_canonical_group(tmp_path):
    """Leave-one-group-out stays honest on old KBs: 'sick' is the hypothyroid records."""
    writer = KBWriter(tmp_path / "kb")
    writer.write_datasets(datasets(["openml:sick", "openml:hypothyroid", "arff:iris"]))
    writer.write_evaluations(evaluations("openml:sick", "knn", ["a"]))
    kb = KnowledgeBase.open(tmp_path / "kb")
    assert kb.datasets["group"].tolist() == ["hypothyroid", "hypothyroid", "iris"]
    assert kb.evaluations["group"].tolist() == ["hypothyroid"]


def test_writer_does_not_mutate_caller_frame(tmp_path):
    frame = evaluations("arff:iris", "knn", ["a"])
    before = frame.copy(deep=True)
    KBWriter(tmp_path / "kb").write_evaluations(frame)
    pd.testing.assert_frame_equal(frame, before)


def test_evaluations_partitioned_by_dataset_and_learner(tmp_path):
    writer = KBWriter(tmp_path / "kb")
    rows = pd.concat([evaluations("arff:iris", "knn", ["a"]), evaluations("arff:iris", "mlp", ["a"]),
                      evaluations("keel:yeast1", "knn", ["a"])])
    writer.write_evaluations(rows)
    files = _files.table_files(tmp_path / "kb", "evaluations")
    assert len(files) == 3
    assert len({f.parent for f in files}) == 3


def test_failed_write_leaves_no_visible_rows(tmp_path, monkeypatch):
    writer = KBWriter(tmp_path / "kb")

    def crash(table, where, **kwargs):
        Path(where).write_bytes(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(_files.pq, "write_table", crash)
    with pytest.raises(OSError, match="disk full"):
        writer.write_evaluations(evaluations("arff:iris", "knn", ["a"]))
    monkeypatch.undo()
    assert KnowledgeBase.open(tmp_path / "kb").evaluations.empty
    assert writer.existing_keys() == set()


def test_existing_keys_lists_stored_evaluations_and_filters_status(tmp_path):
    writer = KBWriter(tmp_path / "kb")
    writer.write_evaluations(evaluations("arff:iris", "knn", ["a", "b"]))
    writer.write_evaluations(evaluations("arff:iris", "mlp", ["c"], status="timeout"))
    assert writer.existing_keys() == {("arff:iris", "knn", "a", 100), ("arff:iris", "knn", "b", 100),
                                      ("arff:iris", "mlp", "c", 100)}
    assert writer.existing_keys(statuses={"ok"}) == {("arff:iris", "knn", "a", 100),
                                                     ("arff:iris", "knn", "b", 100)}


def test_rewritten_key_keeps_newest_row_once(tmp_path):
    writer = KBWriter(tmp_path / "kb")
    writer.write_evaluations(evaluations("arff:iris", "knn", ["a"], accuracy=0.5))
    writer.write_evaluations(evaluations("arff:iris", "knn", ["a"], accuracy=0.7))
    ev = KnowledgeBase.open(tmp_path / "kb").evaluations
    assert ev["accuracy"].tolist() == [0.7]


def test_compact_merges_into_one_file_per_table_without_losing_rows(tmp_path):
    writer = KBWriter(tmp_path / "kb")
    for i in range(5):
        writer.write_datasets(datasets([f"arff:d{i}"]))
        writer.write_evaluations(evaluations(f"arff:d{i}", "knn", ["a", "b"]))
    writer.write_evaluations(evaluations("arff:d0", "knn", ["a"], accuracy=0.6))
    before = KnowledgeBase.open(tmp_path / "kb")
    assert writer.compact() == {"datasets": 5, "evaluations": 6}
    after = KnowledgeBase.open(tmp_path / "kb")
    assert len(_files.table_files(tmp_path / "kb", "evaluations")) == 1
    assert len(_files.table_files(tmp_path / "kb", "datasets")) == 1
    key = ["dataset_id", "learner", "config_id", "train_size"]
    pd.testing.assert_frame_equal(
        before.evaluations.sort_values(key).reset_index(drop=True),
        after.evaluations.sort_values(key).reset_index(drop=True))
    assert len(after.evaluations) == 10
    assert not [p for p in (tmp_path / "kb" / "evaluations").iterdir() if p.is_dir()]


def test_compact_removes_only_stale_temp_files(tmp_path):
    writer = KBWriter(tmp_path / "kb")
    writer.write_evaluations(evaluations("arff:iris", "knn", ["a"]))
    folder = tmp_path / "kb" / "evaluations"
    stale, fresh = folder / ".tmp-old.parquet", folder / ".tmp-new.parquet"
    stale.write_bytes(b"partial")
    fresh.write_bytes(b"partial")
    old = time.time() - 2 * _files.STALE_TEMP_SECONDS
    os.utime(stale, (old, old))
    writer.compact()
    assert not stale.exists()
    assert fresh.exists()  # may belong to a writer still running


def test_corrupt_file_error_names_the_file(tmp_path):
    writer = KBWriter(tmp_path / "kb")
    writer.write_evaluations(evaluations("arff:iris", "knn", ["a"]))
    bad = _files.table_files(tmp_path / "kb", "evaluations")[0]
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(KnowledgeBaseError, match=str(bad.name)) as info:
        KnowledgeBase.open(tmp_path / "kb")
    assert "delete this file" in str(info.value)


def test_missing_kb_error_names_the_path(tmp_path):
    with pytest.raises(KnowledgeBaseError, match=str(tmp_path / "nowhere")):
        KnowledgeBase.open(tmp_path / "nowhere")


def test_schema_version_mismatch_says_what_to_rebuild(tmp_path):
    writer = KBWriter(tmp_path / "kb")
    writer.write_evaluations(evaluations("arff:iris", "knn", ["a"]))
    manifest = json.loads((tmp_path / "kb" / "manifest.json").read_text())
    manifest["schema_version"] = 999
    (tmp_path / "kb" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactVersionError, match="schema version 999.*metasel kb build"):
        KnowledgeBase.open(tmp_path / "kb")


def test_file_of_other_schema_version_is_rejected_by_name(tmp_path):
    writer = KBWriter(tmp_path / "kb")
    writer.write_evaluations(evaluations("arff:iris", "knn", ["a"]))
    path = _files.table_files(tmp_path / "kb", "evaluations")[0]
    table = pq.read_table(path)
    meta = {_files.METADATA_KEY: json.dumps({"schema_version": 0, "table": "evaluations"}).encode()}
    pq.write_table(table.replace_schema_metadata(meta), path)
    with pytest.raises(ArtifactVersionError, match=f"{path.name}.*schema version 0"):
        KnowledgeBase.open(tmp_path / "kb")


def test_invalid_status_is_rejected_with_allowed_values(tmp_path):
    with pytest.raises(KnowledgeBaseError, match=r"one of \['ok', 'failed', 'timeout'\]; got \['crashed'\]"):
        KBWriter(tmp_path / "kb").write_evaluations(evaluations("arff:iris", "knn", ["a"], status="crashed"))


def test_merge_deduplicates_and_is_idempotent(tmp_path):
    a, b = KBWriter(tmp_path / "a"), KBWriter(tmp_path / "b")
    a.write_datasets(datasets(["arff:iris", "arff:wine"]))
    a.write_evaluations(evaluations("arff:iris", "knn", ["x", "y"]))
    b.write_datasets(datasets(["arff:wine", "keel:yeast1"]))
    b.write_evaluations(evaluations("arff:iris", "knn", ["y", "z"]))
    merged = merge([tmp_path / "a", tmp_path / "b"], tmp_path / "out")
    assert sorted(merged.datasets["dataset_id"]) == ["arff:iris", "arff:wine", "keel:yeast1"]
    assert sorted(merged.evaluations["config_id"]) == ["x", "y", "z"]
    again = merge([tmp_path / "a", tmp_path / "b"], tmp_path / "out")
    assert len(again.evaluations) == 3
    assert len(again.datasets) == 3


def test_default_part_must_be_known():
    with pytest.raises(KnowledgeBaseError, match="one of \\['kb', 'lcdb'\\]"):
        KnowledgeBase.default(part="everything")


def test_summary_counts_configs_failures_and_compute(tmp_path):
    writer = KBWriter(tmp_path / "kb")
    writer.write_datasets(datasets(["arff:iris", "arff:wine"]))
    writer.write_evaluations(evaluations("arff:iris", "knn", ["a", "b", "c"]))
    writer.write_evaluations(evaluations("arff:wine", "knn", ["a"], status="failed"))
    s = KnowledgeBase.open(tmp_path / "kb").summary()
    assert (s["n_datasets"], s["n_groups"], s["n_evaluations"], s["n_failed"]) == (2, 2, 4, 1)
    assert s["learners"] == ["knn"]
    assert s["median_configs_per_learner_dataset"] == 2.0
    assert s["compute_seconds"] == pytest.approx(4 * 3 * 0.6)


WRITER_SCRIPT = textwrap.dedent("""
    import sys, pandas as pd
    sys.path.insert(0, {root!r})
    from metasel.kb import KBWriter
    path, tag, n, compact_every = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    writer = KBWriter(path)
    for i in range(n):
        writer.write_evaluations(pd.DataFrame({{
            "dataset_id": f"d{{i % 3}}", "group": "g", "learner": ["knn", "mlp"],
            "config_id": f"{{tag}}-{{i}}", "train_size": 10, "status": "ok", "accuracy": 0.5}}))
        if compact_every and i % compact_every == compact_every - 1:
            writer.compact()
""")


def _writer(tmp_path: Path, tag: str, n: int, compact_every: int = 0) -> subprocess.Popen:
    script = tmp_path / "writer.py"
    script.write_text(WRITER_SCRIPT.format(root=str(ROOT)))
    return subprocess.Popen([sys.executable, str(script), str(tmp_path / "kb"), tag, str(n),
                             str(compact_every)], stderr=subprocess.PIPE, text=True)


def test_two_processes_writing_and_compacting_at_once_lose_nothing(tmp_path):
    procs = [_writer(tmp_path, "p1", 40, compact_every=10), _writer(tmp_path, "p2", 40, compact_every=15)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    ev = KnowledgeBase.open(tmp_path / "kb").evaluations
    expected = {(f"p{p}-{i}", learner) for p in (1, 2) for i in range(40) for learner in ("knn", "mlp")}
    assert set(zip(ev["config_id"], ev["learner"], strict=True)) == expected
    assert len(ev) == len(expected)


def test_writer_killed_midway_leaves_readable_kb_and_resume_completes_it(tmp_path):
    proc = _writer(tmp_path, "run", 100_000)
    deadline = time.monotonic() + 60
    while len(_files.table_files(tmp_path / "kb", "evaluations")) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    writer = KBWriter(tmp_path / "kb")
    done = writer.existing_keys()
    assert len(done) >= 20
    ev = KnowledgeBase.open(tmp_path / "kb").evaluations
    assert not ev.duplicated(["dataset_id", "learner", "config_id", "train_size"]).any()
    assert (ev["accuracy"] == 0.5).all() and (ev["status"] == "ok").all()  # only whole rows
    configs = ev["config_id"].unique()
    target = {(f"d{i % 3}", learner, f"run-{i}", 10) for i in range(len(configs) + 5)
              for learner in ("knn", "mlp")}
    missing = sorted(target - done)
    writer.write_evaluations(pd.DataFrame(
        [{"dataset_id": d, "group": "g", "learner": le, "config_id": c, "train_size": s,
          "status": "ok"} for d, le, c, s in missing]))
    assert writer.existing_keys() == target | done
    final = KnowledgeBase.open(tmp_path / "kb").evaluations
    assert len(final) == len(target | done)


LOCK_SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from pathlib import Path
    from metasel.kb._files import exclusive_lock
    with exclusive_lock(Path(sys.argv[1]), timeout=0.3):
        pass
""")


def test_compaction_lock_excludes_other_processes_and_leaves_no_file(tmp_path):
    script = tmp_path / "lock.py"
    script.write_text(LOCK_SCRIPT.format(root=str(ROOT)))
    kb = tmp_path / "kb"
    KBWriter(kb)
    with _files.exclusive_lock(kb):
        blocked = subprocess.run([sys.executable, str(script), str(kb)], capture_output=True, text=True)
    assert blocked.returncode != 0 and "Could not lock the KB" in blocked.stderr
    free = subprocess.run([sys.executable, str(script), str(kb)], capture_output=True, text=True)
    assert free.returncode == 0, free.stderr
    assert sorted(p.name for p in kb.iterdir()) == ["manifest.json"]


def test_rows_missing_a_key_column_are_rejected_by_name(tmp_path):
    rows = evaluations("arff:iris", "knn", ["a"]).drop(columns="config_id")
    with pytest.raises(KnowledgeBaseError, match=r"missing \['config_id'\]"):
        KBWriter(tmp_path / "kb").write_evaluations(rows)


def test_rows_with_wrong_types_are_rejected_with_the_schema_hint(tmp_path):
    rows = evaluations("arff:iris", "knn", ["a"]).assign(fit_time="slow")
    with pytest.raises(KnowledgeBaseError, match="do not fit the KB schema"):
        KBWriter(tmp_path / "kb").write_evaluations(rows)
    assert KnowledgeBase.open(tmp_path / "kb").evaluations.empty


def test_a_writer_recreates_a_partition_folder_removed_by_a_concurrent_compaction(tmp_path,
                                                                                  monkeypatch):
    import pyarrow as pa

    folder = tmp_path / "evaluations" / "d0" / "knn"
    original = _files.pq.write_table
    calls = []

    def compaction_strikes_first(table, where, **kwargs):
        calls.append(where)
        if len(calls) == 1:  # the compaction removes the still empty folder right after mkdir
            folder.rmdir()
        return original(table, where, **kwargs)

    monkeypatch.setattr(_files.pq, "write_table", compaction_strikes_first)
    written = _files.write_parquet_atomic(pa.table({"x": [1, 2]}), folder)
    assert len(calls) == 2
    assert pq.read_table(written).column("x").to_pylist() == [1, 2]
    assert not any(p.name.startswith(_files.TEMP_PREFIX) for p in folder.iterdir())
