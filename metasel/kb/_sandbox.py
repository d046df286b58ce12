"""Run evaluations in a child process that can be killed: the per-evaluation time limit.

A learner stuck in C code (libsvm, OpenMP) ignores Python signals and threads cannot be
stopped, so every evaluation runs in a persistent child interpreter. The parent waits
at most ``time_limit`` seconds for the answer, then kills the child and starts a fresh
one for the next evaluation. The child is reused between evaluations (imports are paid
once) and keeps the last dataset it received, so a dataset crosses the pipe once per
batch of evaluations, not once per evaluation.

Messages are pickled over private pipes (never stored). The child exits when its parent
dies, even in the middle of an evaluation.
"""

from __future__ import annotations

import importlib
import logging
import os
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from metasel.data import Dataset
from metasel.kb._evaluate import EvaluationTask, evaluate, failed_record, fold_ids

logger = logging.getLogger(__name__)

STARTUP_TIMEOUT = 120.0
_SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    "PYTHONWARNINGS": "ignore",
}


class Sandbox:
    """One killable child process that evaluates tasks, one at a time."""

    def __init__(self) -> None:
        self._process: subprocess.Popen | None = None
        self._send: Connection | None = None
        self._recv: Connection | None = None
        self._dataset_key: str | None = None
        self._plugins: str | None = None

    def _start(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = {**os.environ, **_SINGLE_THREAD_ENV}
        self._plugins = os.environ.get("METASEL_PLUGINS", "")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "metasel.kb._sandbox", str(to_child_r), str(from_child_w)],
            pass_fds=(to_child_r, from_child_w), env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._send = Connection(to_child_w, readable=False)
        self._recv = Connection(from_child_r, writable=False)
        self._dataset_key = None
        if not self._recv.poll(STARTUP_TIMEOUT) or self._recv.recv() != "ready":
            self.close()
            raise RuntimeError("the evaluation sandbox did not start")

    def _exit_code(self) -> int | None:
        """The child's exit code once it has died (``None`` if it is still running)."""
        if self._process is None:
            return None
        try:
            return self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None

    def close(self) -> None:
        """Kill the child (if any) and release the pipes."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        for conn in (self._send, self._recv):
            if conn is not None:
                conn.close()
        self._process = self._send = self._recv = None
        self._dataset_key = None

    def run(self, dataset_key: str, dataset: Dataset, task: EvaluationTask,
            time_limit: float | None) -> dict[str, Any]:
        """The record of ``task``; ``timeout``/``failed`` records when the child hangs or dies."""
        n_rows = dataset.shape[0]
        try:
            plugins_changed = self._plugins != os.environ.get("METASEL_PLUGINS", "")
            if self._process is None or self._process.poll() is not None or plugins_changed:
                self.close()
                self._start()
            if self._dataset_key != dataset_key:
                self._send.send(("dataset", dataset))
                self._dataset_key = dataset_key
            self._send.send(("evaluate", task))
            if self._recv.poll(time_limit):
                return self._recv.recv()
        except (EOFError, OSError, RuntimeError) as error:
            code = self._exit_code()
            self.close()
            return failed_record(task, n_rows, "failed",
                                 f"evaluation process died (exit code {code}): {error!r}")
        self.close()
        logger.info("%s on %s exceeded %.0f s; killed", task.learner, task.dataset_id, time_limit)
        return failed_record(task, n_rows, "timeout", f"exceeded the time limit of {time_limit:g} s")


_local = threading.local()


def run_sandboxed(dataset_key: str, dataset: Dataset, task: EvaluationTask,
                  time_limit: float | None) -> dict[str, Any]:
    """Evaluate in this thread's sandbox (created on first use, reused afterwards).

    The entry point for joblib and Dask workers: each worker process (and thread) keeps
    its own child between tasks.
    """
    sandbox = getattr(_local, "sandbox", None)
    if sandbox is None:
        sandbox = _local.sandbox = Sandbox()
    return sandbox.run(dataset_key, dataset, task, time_limit)


def _exit_with_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(3)
        time.sleep(0.5)


def import_plugins() -> None:
    """Import the modules named in ``$METASEL_PLUGINS`` (they register extra learners)."""
    for module in filter(None, os.environ.get("METASEL_PLUGINS", "").split(",")):
        importlib.import_module(module.strip())


def _child_main(read_fd: int, write_fd: int) -> None:
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    logging.disable(logging.CRITICAL)
    import_plugins()
    recv = Connection(read_fd, writable=False)
    send = Connection(write_fd, readable=False)
    send.send("ready")
    dataset: Dataset | None = None
    folds_cache: dict[tuple[int, int], Any] = {}
    while True:
        try:
            kind, payload = recv.recv()
        except EOFError:
            return
        if kind == "dataset":
            dataset, folds_cache = payload, {}
            continue
        task: EvaluationTask = payload
        key = (task.n_folds, task.seed)
        if key not in folds_cache:
            folds_cache[key] = fold_ids(dataset.y, task.n_folds, task.seed)
        send.send(evaluate(dataset, task, folds_cache[key]))


if __name__ == "__main__":
    _child_main(int(sys.argv[1]), int(sys.argv[2]))
