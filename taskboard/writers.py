"""Writers to an SQLite database take turns, first come first served, inside a process.

SQLite lets one writer in at a time and makes the others wait in its busy handler, which
sleeps and retries: a writer that has waited a while can lose to a newer one again and
again, so under load a few writes take seconds while most take milliseconds. Here a
transaction's first write statement first queues for the process's writer turn (a FIFO
hand-over, no sleeping), and gives it back when its transaction ends. SQLite's busy
timeout then only arbitrates between processes (the worker, the CLI, a second server).

PostgreSQL has row locks and fair lock queues of its own: it is left alone.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from sqlalchemy import Connection, Engine, event

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
HELD = "taskboard_writer_turn"
ENDED = "taskboard_writer_turn_ended"


class WriterTimeout(TimeoutError):
    """Waited longer than the busy timeout for the writer turn."""


class FairLock:
    """A lock handed to its waiters in the order they asked for it.

    Re-entrant per thread: a thread that holds the turn on one connection and writes on a
    second one (rare, but a deadlock otherwise) takes it again without waiting.
    """

    def __init__(self) -> None:
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


def install(engine: Engine, timeout: float) -> FairLock:
    """Make the engine's writers take turns; the lock, for tests to look at."""
    lock = FairLock()

    def before_write(conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        info = conn.info
        if info.pop(ENDED, None) and info.pop(HELD, None):
            lock.release()  # the transaction that held the turn has ended
        if HELD in info or not statement.lstrip()[:7].upper().startswith(WRITES):
            return
        lock.acquire(timeout)
        info[HELD] = True

    def transaction_over(conn: Connection) -> None:
        # Fired just before the driver's COMMIT or ROLLBACK: the turn goes when the
        # connection is given back (a session gives it back right after committing) or
        # when it runs its next statement, so the next writer never meets SQLite's lock.
        if HELD in conn.info:
            conn.info[ENDED] = True

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info.pop(ENDED, None)
        if record.info.pop(HELD, None):
            lock.release()

    event.listen(engine, "before_cursor_execute", before_write)
    event.listen(engine, "commit", transaction_over)
    event.listen(engine, "rollback", transaction_over)
    event.listen(engine, "checkin", checked_in)
    return lock
