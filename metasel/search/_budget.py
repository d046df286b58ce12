"""Deadline keeping: every step of a search asks the same clock how much time is left.

A fit has one wall-clock budget. Cooperative checks (between folds, between trials) stop
work that has not started yet; :func:`run_with_timeout` cuts work that has started and
overruns (a learner that hangs). Python cannot kill a thread, so a cut call is *abandoned*
in a daemon thread: its result is discarded, it never blocks interpreter exit, and it is
sent :class:`Abandoned`, which stops it at its next Python instruction (between the trees
of a forest, the rounds of a booster, the epochs of an MLP), and sent it again until it ends:
code that ignores every exception (a ``WeakKeyDictionary`` callback, once) can swallow one.
Left running, cut folds kept a core busy after ``fit`` returned and slowed the next fit in
the same process past its own deadlines (the third 10 s fit on letter lost its
recommendations that way).
"""

from __future__ import annotations

import ctypes
import functools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from threadpoolctl import ThreadpoolController

from metasel.learners import in_native_fit, stop_thread

T = TypeVar("T")
#: how often a thread waiting for others looks whether they are done
_POLL_S = 0.005
#: how long a cut thread that still runs, or a thread waiting for a timed call, goes before
#: it is sent :class:`Abandoned` again, or looks whether it was sent one itself
_RECHECK_S = 0.1


class Abandoned(BaseException):
    """Raised inside a cut call's thread to stop it (a BaseException: learners that catch
    ``Exception`` do not swallow it)."""


class BudgetExceeded(Exception):
    """A unit of work was cut (``cut=True``), or not started, because of its deadline."""

    def __init__(self, message: str, *, cut: bool = False) -> None:
        super().__init__(message)
        self.cut = cut


@dataclass
class Deadline:
    """A wall-clock budget in seconds that starts when the object is made."""

    budget: float
    start: float = field(default_factory=time.monotonic)

    @property
    def at(self) -> float:
        """The monotonic time at which the budget runs out."""
        return self.start + self.budget

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def remaining(self) -> float:
        """Seconds left (negative once expired)."""
        return self.at - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def sub(self, seconds: float) -> Deadline:
        """A deadline that ends ``seconds`` from now, but never after this one."""
        seconds = max(0.0, min(seconds, self.remaining()))
        return Deadline(budget=seconds)

    def check(self, what: str) -> None:
        """Raise :class:`BudgetExceeded` when the budget is spent, naming the step."""
        if self.expired():
            raise BudgetExceeded(f"{what}: the time budget of {self.budget:.1f} s is spent")


def run_with_timeout(fn: Callable[[], T], timeout: float, what: str = "call") -> T:
    """Run ``fn()`` and return its result, or raise :class:`BudgetExceeded` after ``timeout`` s.

    The call runs in a daemon thread so that a hung learner cannot hold the fit past its
    deadline; exceptions raised by ``fn`` are re-raised here unchanged. It runs on one OpenMP
    thread: parallelism belongs to the caller, and OpenMP's thread count is per thread, so
    the caller's own limit would not reach this one.
    """
    if timeout <= 0:
        raise BudgetExceeded(f"{what}: no time left to start it")
    box: dict[str, object] = {}
    done = threading.Event()

    def target() -> None:
        try:
            with _thread_pools().limit(limits=1, user_api="openmp"):
                box["result"] = fn()
        except Abandoned:
            pass  # nobody waits for this result any more
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = error
        finally:
            done.set()

    worker = threading.Thread(target=target, name=f"metasel-{what}", daemon=True)
    worker.start()
    try:
        finished = _wait(done, timeout)
    except Abandoned:  # this thread was cut itself: so is the call it waits for
        _abandon(worker, done.is_set)
        raise
    if not finished:
        _abandon(worker, done.is_set)
        raise BudgetExceeded(f"{what}: cut after {timeout:.1f} s (it would overrun the budget)",
                             cut=True)
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["result"]  # type: ignore[return-value]


def run_in_threads(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run ``calls`` at once in daemon threads; their results in order, the first error
    re-raised. Cut while waiting (:class:`Abandoned`), it stops the calls still running.

    Completion is tracked here rather than with ``Thread.join``: an exception that arrives
    during ``join`` marks the joined thread as stopped although it still runs.
    """
    out: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []
    running = set(range(len(calls)))

    def work(i: int) -> None:
        try:
            out[i] = calls[i]()
        except Abandoned:
            pass  # the batch was cut: nobody waits for this result any more
        except BaseException as error:  # noqa: BLE001 - re-raised in the waiting thread
            errors.append(error)
        finally:
            running.discard(i)

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    try:
        while running:
            time.sleep(_POLL_S)
    except Abandoned:
        for i in list(running):
            _abandon(threads[i], lambda i=i: i not in running)
        raise
    if errors:
        raise errors[0]
    return out


def _wait(event: threading.Event, timeout: float) -> bool:
    """``event.wait(timeout)`` in short slices: a thread blocked in one long wait would not
    see its own :class:`Abandoned` until the wait ends."""
    end = time.monotonic() + timeout
    while not event.is_set():
        left = end - time.monotonic()
        if left <= 0:
            return False
        event.wait(min(left, _RECHECK_S))
    return True


def _abandon(thread: threading.Thread, finished: Callable[[], bool]) -> None:
    """Stop ``thread`` at its next Python instruction, and again every ``_RECHECK_S`` until
    ``finished()`` or the thread has ended (an exception that lands where it would set its
    flag ends it unflagged; its id may then belong to another thread)."""
    _raise_in(thread.ident)

    def resend() -> None:
        while True:
            time.sleep(_RECHECK_S)
            if finished() or not thread.is_alive():
                return
            _raise_in(thread.ident)

    threading.Thread(target=resend, name=f"{thread.name}-stop", daemon=True).start()


def _raise_in(ident: int | None) -> None:
    """Raise :class:`Abandoned` in the thread ``ident`` at its next Python instruction (a
    thread inside one long C call stops when that call returns); a thread inside LightGBM is
    asked to stop at its next round instead (an exception there can free a native handle
    twice)."""
    if ident is None:
        return
    if in_native_fit(ident):
        stop_thread(ident)
        return
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident),
                                               ctypes.py_object(Abandoned))


@functools.cache
def _thread_pools() -> ThreadpoolController:
    """The loaded BLAS/OpenMP libraries, inspected once (3 ms per inspection)."""
    return ThreadpoolController()
