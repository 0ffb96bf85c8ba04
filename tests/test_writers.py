"""SQLite writers inside one process take turns in the order they came."""

from __future__ import annotations

import threading
import time

import pytest
from test_concurrency import run_threads

from taskboard.writers import FairLock, WriterTimeout


def test_the_turn_goes_to_waiters_in_the_order_they_came():
    lock = FairLock()
    lock.acquire(1)
    order: list[int] = []
    threads = []
    for i in range(6):
        thread = threading.Thread(
            target=lambda i=i: (lock.acquire(5), order.append(i), lock.release())
        )
        thread.start()
        threads.append(thread)
        while lock.queued < i + 1:  # each one queued before the next comes
            time.sleep(0.001)
    lock.release()
    for thread in threads:
        thread.join(5)
    assert order == [0, 1, 2, 3, 4, 5]


def test_a_thread_holding_the_turn_takes_it_again_and_a_waiter_gives_up_in_time():
    lock = FairLock()
    lock.acquire(1)
    lock.acquire(1)  # a second connection of the same thread: no deadlock
    errors: list[BaseException] = []

    def other() -> None:
        try:
            lock.acquire(0.05)
        except WriterTimeout as exc:
            errors.append(exc)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(2)
    assert len(errors) == 1 and lock.queued == 0
    lock.release()
    lock.release()
    lock.acquire(0.05)  # free again
    lock.release()


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_sixteen_writers_on_sqlite_all_succeed_and_leave_the_turn_free(app, alice):
    lock = app.extensions["taskboard_writers"]
    pid = alice.create_project()["id"]
    ids = [alice.create_task(pid, f"card {i}")["id"] for i in range(8)]
    clients = [app.test_client() for _ in range(16)]

    def work(i: int) -> None:
        client = clients[i]
        for n in range(5):
            if i % 2:
                resp = client.post(
                    f"/api/v1/projects/{pid}/tasks",
                    json={"title": f"w{i}-{n}"},
                    headers=alice.headers,
                )
                assert resp.status_code == 201, resp.get_json()
            else:
                resp = client.patch(
                    f"/api/v1/tasks/{ids[(i + n) % 8]}",
                    json={"status": ("todo", "in_progress", "done")[n % 3], "position": 0},
                    headers=alice.headers,
                )
                assert resp.status_code == 200, resp.get_json()

    assert run_threads(16, work) == []
    assert lock.queued == 0
    lock.acquire(0.01)  # nobody kept the turn after their request
    lock.release()
    assert app.extensions.get("taskboard_writers") is lock


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_postgresql_writers_are_left_to_the_database(app):
    assert "taskboard_writers" not in app.extensions
