"""Writers to an SQLite database take turns, first come first served, inside a process.

SQLite lets one writer in at a time and makes the others wait in its busy handler, which
sleeps and retries: a writer that has waited a while can lose to a newer one again and
again, so under load a few writes take seconds while most take milliseconds. Here a
session's first write first queues for the process's writer turn (a FIFO
hand-over, no sleeping), and gives it back when its transaction ends. Writes through the
session queue (every write of a request, a job or a command does); a bulk load on a raw
connection (`flask demo seed`) is left to SQLite's busy timeout. SQLite's busy
timeout then only arbitrates between processes (the worker, the CLI, a second server).

PostgreSQL has row locks and fair lock queues of its own: it is left alone.
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

HELD = "taskboard_writer_turn"


class WriterTimeout(TimeoutError):
    """Waited longer than the busy timeout for the writer turn."""


class FairLock:
    """A lock handed to its waiters in the order they asked for it.

    Re-entrant per thread: a thread that holds the turn on one connection and writes on a
    second one (rare, but a deadlock otherwise) takes it again without waiting.
    """

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._mutex = threading.Lock()
        self._owner: int | None = None
        self._depth = 0
        self._waiters: deque[tuple[int, threading.Event]] = deque()

    def acquire(self, timeout: float) -> None:
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                self._depth += 1
                return
            if self._owner is None and not self._waiters:
                self._owner, self._depth = me, 1
                return
            turn = threading.Event()
            waiter = (me, turn)
            self._waiters.append(waiter)
        if turn.wait(timeout):
            return
        with self._mutex:
            if turn.is_set():  # handed over just as the wait ran out: it is ours
                return
            self._waiters.remove(waiter)
        raise WriterTimeout(f"waited {timeout:g} s for the database's writer turn")

    def release(self) -> None:
        with self._mutex:
            self._depth -= 1
            if self._depth > 0:
                return
            if self._waiters:
                self._owner, turn = self._waiters.popleft()
                self._depth = 1
                turn.set()  # handed over: never free for a newcomer to take
            else:
                self._owner = None

    @property
    def queued(self) -> int:
        return len(self._waiters)


_LOCKS: weakref.WeakKeyDictionary[Engine, FairLock] = weakref.WeakKeyDictionary()


def install(engine: Engine, timeout: float) -> FairLock:
    """Make the engine's writers take turns; the lock, for tests to look at.

    Only session events: a listener on the engine's statements would make SQLAlchemy
    (and `database.Prepared`) take their slower, instrumented path on every read."""
    lock = _LOCKS[engine] = FairLock(timeout)
    return lock


def take_turn(session: Session) -> None:
    """Before the session's first write: wait for the writer turn (SQLite only)."""
    if HELD in session.info:
        return
    lock = _LOCKS.get(session.get_bind().engine)
    if lock is None:
        return
    session.connection()  # the transaction whose end gives the turn back
    lock.acquire(lock.timeout)
    session.info[HELD] = lock


def after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    """The session's transaction has committed or rolled back: the turn goes to the next
    writer, who never meets SQLite's own lock."""
    if transaction.parent is None and HELD in session.info:
        session.info.pop(HELD).release()


def before_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        take_turn(session)


def before_execute(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        take_turn(state.session)
