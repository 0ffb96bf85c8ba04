"""Concurrent and arbitrary moves keep every column's positions exactly 0…n-1."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import PASSWORD, register
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskboard.extensions import db
from taskboard.models import Task

API = "/api/v1"
STATUSES = ("todo", "in_progress", "done")


def positions(app: Any, project_id: str) -> dict[str, list[int]]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(Task.status, Task.position)
            .where(Task.project_id == uuid.UUID(project_id))
            .order_by(Task.status, Task.position)
        ).all()
    columns: dict[str, list[int]] = {s: [] for s in STATUSES}
    for status, position in rows:
        columns[status].append(position)
    return columns


def run_threads(n: int, work: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(n)

    def runner(i: int) -> None:
        try:
            start.wait()
            work(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a writer hung (deadlock?)"
    return errors


def test_eight_writers_moving_cards_keep_columns_contiguous(app, alice):
    pid = alice.create_project()["id"]
    ids = [alice.create_task(pid, f"card {i}")["id"] for i in range(12)]
    statuses: list[int] = []
    for i in range(8):
        alice.add_member(pid, register(app.test_client(), f"member{i}@example.com"))

    def as_member(i: int) -> None:
        client = app.test_client()
        resp = client.post(
            f"{API}/auth/tokens",
            json={"email": f"member{i}@example.com", "password": PASSWORD},
        )
        token = resp.json["access_token"]
        rng = random.Random(i)
        for _ in range(15):
            body: dict[str, Any] = {"position": rng.randrange(0, 14)}
            if rng.random() < 0.3:
                body["status"] = rng.choice(STATUSES)
            resp = client.patch(
                f"{API}/tasks/{rng.choice(ids)}",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
            )
            statuses.append(resp.status_code)

    errors = run_threads(8, as_member)
    assert not errors, errors
    assert statuses and set(statuses) == {200}, sorted(set(statuses))
    columns = positions(app, pid)
    assert all(col == list(range(len(col))) for col in columns.values()), columns
    assert sum(len(col) for col in columns.values()) == 12
    listed = alice.get(f"{API}/projects/{pid}/tasks?per_page=100").json
    assert sorted(t["id"] for t in listed) == sorted(ids)


def test_concurrent_creates_append_without_gaps_or_duplicates(app, alice):
    pid = alice.create_project()["id"]
    token = alice.token
    codes: list[int] = []

    def work(i: int) -> None:
        client = app.test_client()
        for j in range(5):
            resp = client.post(
                f"{API}/projects/{pid}/tasks",
                json={"title": f"t{i}-{j}"},
                headers={"Authorization": f"Bearer {token}"},
            )
            codes.append(resp.status_code)

    assert not run_threads(8, work)
    assert set(codes) == {201}
    assert positions(app, pid)["todo"] == list(range(40))


# Any sequence of moves keeps each column a permutation of 0…n-1, in the order a list model
# of the board predicts.

move = st.tuples(
    st.integers(min_value=0, max_value=5),  # which card
    st.sampled_from((None, *STATUSES)),  # new status (None: same column)
    st.one_of(st.none(), st.integers(min_value=0, max_value=8)),  # position (None: the end)
)


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(moves=st.lists(move, min_size=1, max_size=12))
def test_any_sequence_of_moves_matches_the_list_model(app, alice, moves):
    pid = alice.create_project()["id"]
    cards = [alice.create_task(pid, f"c{i}", status=STATUSES[i % 3])["id"] for i in range(6)]
    model: dict[str, list[str]] = {s: [] for s in STATUSES}
    for i, card in enumerate(cards):
        model[STATUSES[i % 3]].append(card)
    for index, status, position in moves:
        card = cards[index]
        current = next(s for s, col in model.items() if card in col)
        body: dict[str, Any] = {}
        if status is not None:
            body["status"] = status
        if position is not None:
            body["position"] = position
        if not body:
            continue
        resp = alice.patch(f"{API}/tasks/{card}", json=body)
        assert resp.status_code == 200, resp.json
        target = status or current
        if target == current and position is None:
            continue  # nothing to move
        model[current].remove(card)
        column = model[target]
        column.insert(len(column) if position is None else min(position, len(column)), card)
    listed = alice.get(f"{API}/projects/{pid}/tasks?per_page=100").json
    got: dict[str, list[str]] = {s: [] for s in STATUSES}
    for task in listed:
        assert task["position"] == len(got[task["status"]])
        got[task["status"]].append(task["id"])
    assert got == model


def positions_by_column(app: Any, project_id: str) -> dict[Any, list[int]]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(Task.column_id, Task.position)
            .where(Task.project_id == uuid.UUID(project_id))
            .order_by(Task.column_id, Task.position)
        ).all()
    columns: dict[Any, list[int]] = {}
    for column_id, position in rows:
        columns.setdefault(column_id, []).append(position)
    return columns


def test_eight_writers_moving_cards_across_named_columns_keep_them_contiguous(app, alice):
    """Moves by column id and position, by status alone, and a column moved and deleted
    meanwhile: every column stays 0…n-1 and no card is lost."""
    pid = alice.create_project()["id"]
    for name, category in (("Review", "in_progress"), ("Later", "todo")):
        made = alice.post(
            f"{API}/projects/{pid}/columns", json={"name": name, "category": category}
        )
        assert made.status_code == 201
    board = alice.get(f"{API}/projects/{pid}/columns").json
    column_ids = [c["id"] for c in board]
    ids = [alice.create_task(pid, f"card {i}")["id"] for i in range(12)]
    codes: list[int] = []
    for i in range(8):
        alice.add_member(pid, register(app.test_client(), f"mover{i}@example.com"))

    def as_member(i: int) -> None:
        client = app.test_client()
        resp = client.post(
            f"{API}/auth/tokens", json={"email": f"mover{i}@example.com", "password": PASSWORD}
        )
        headers = {"Authorization": f"Bearer {resp.json['access_token']}"}
        rng = random.Random(100 + i)
        for step in range(12):
            if i == 0 and step == 6:  # one member reorders a column mid-way
                resp = client.patch(
                    f"{API}/columns/{column_ids[3]}", json={"position": 0}, headers=headers
                )
                codes.append(resp.status_code)
                continue
            body: dict[str, Any] = {"position": rng.randrange(0, 14)}
            if rng.random() < 0.7:
                body["column_id"] = rng.choice(column_ids)
            else:
                body["status"] = rng.choice(STATUSES)
            resp = client.patch(f"{API}/tasks/{rng.choice(ids)}", json=body, headers=headers)
            codes.append(resp.status_code)

    errors = run_threads(8, as_member)
    assert not errors, errors
    assert codes and set(codes) == {200}, sorted(set(codes))
    columns = positions_by_column(app, pid)
    assert all(col == list(range(len(col))) for col in columns.values()), columns
    assert sum(len(col) for col in columns.values()) == 12
    # Deleting a column moves its cards to the end of another, still contiguous.
    later = next(c for c in board if c["name"] == "Later")
    target = next(c for c in board if c["name"] == "Review")
    assert alice.delete(f"{API}/columns/{later['id']}?move_to={target['id']}").status_code == 204
    columns = positions_by_column(app, pid)
    assert all(col == list(range(len(col))) for col in columns.values()), columns
    listed = alice.get(f"{API}/projects/{pid}/tasks?per_page=100").json
    assert sorted(t["id"] for t in listed) == sorted(ids)
    category = {c["id"]: c["category"] for c in alice.get(f"{API}/projects/{pid}/columns").json}
    assert all(t["status"] == category[t["column_id"]] for t in listed)
