"""Demo data: a demo account with a small team and realistic projects, and bulk benchmark data.

The realistic part goes through the services, like any user would. The benchmark part inserts
in bulk (SQLAlchemy Core executemany, in batches): through the services 100,000 tasks would
take many minutes. It keeps the rules the services keep: positions 0..n-1 per column,
assignees are members, every task has its "created" history entry.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update

from .extensions import db
from .models import (
    STATUSES,
    Activity,
    BoardColumn,
    Membership,
    Project,
    Task,
    TaskAssignee,
    User,
    utcnow,
)
from .services import accounts, checklists, columns, labels, projects, tasks
from .services.common import lock_project

DEMO_EMAIL = "demo@example.com"
DEMO_NAME = "Demo User"
DEMO_PASSWORD = "taskboard-demo"
TEAM: tuple[tuple[str, str], ...] = (
    ("maya@example.com", "Maya Patel"),
    ("sam@example.com", "Sam Okafor"),
)
BENCHMARK_TITLE = "Benchmark"
BATCH_SIZE = 5_000

H = timedelta(hours=1)
D = timedelta(days=1)


@dataclass(frozen=True)
class CardSpec:
    title: str
    status: str
    by: str  # who creates it: "demo", "maya" or "sam"
    assignees: tuple[str, ...] = ()
    due: timedelta | None = None  # relative to the time of seeding
    description: str = ""
    comments: tuple[tuple[str, str], ...] = ()
    column: str | None = None  # a column's name; none: the first of the status
    labels: tuple[str, ...] = ()
    checklist: tuple[tuple[str, bool], ...] = ()  # (text, done)


@dataclass(frozen=True)
class ProjectSpec:
    title: str
    description: str
    members: tuple[str, ...]
    cards: tuple[CardSpec, ...]
    # The board's columns as (name, category, WIP limit); none: the three default ones.
    columns: tuple[tuple[str, str, int | None], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()  # (name, color)


PROJECTS: tuple[ProjectSpec, ...] = (
    ProjectSpec(
        "Website relaunch",
        "Everything for the new marketing site, going live at the end of the month.",
        ("maya", "sam"),
        (
            CardSpec(
                "Write the pricing page",
                "todo",
                "demo",
                ("maya",),
                20 * H,
                "Three plans, a comparison table and the FAQ from support.",
                (("sam", "Can we show the yearly prices first?"),),
                labels=("Copy",),
                checklist=(("Plan names", True), ("Comparison table", False), ("FAQ", False)),
            ),
            CardSpec("Collect feedback on the homepage draft", "todo", "maya", ("demo",), 3 * D),
            CardSpec("Compress the hero images", "todo", "sam", labels=("Design",)),
            CardSpec(
                "Pick a font pairing",
                "in_progress",
                "maya",
                ("maya", "demo"),
                -1 * D,
                "Headings and body text; must be self-hosted.",
                (
                    ("maya", "Shortlist: Inter + Source Serif, or IBM Plex throughout."),
                    ("demo", "Plex reads better on small screens. Let's go with it."),
                ),
                column="Review",
                labels=("Design",),
            ),
            CardSpec(
                "Set up analytics",
                "in_progress",
                "sam",
                ("sam",),
                6 * H,
                labels=("Tech",),
                checklist=(("Choose a privacy-friendly tool", True), ("Add the script", False)),
            ),
            CardSpec("Register the domain", "done", "demo", ("demo",), -5 * D),
            CardSpec(
                "Draft the sitemap",
                "done",
                "maya",
                ("maya",),
                -2 * D,
                comments=(("demo", "Approved, thanks!"),),
            ),
        ),
        columns=(
            ("Backlog", "todo", None),
            ("Doing", "in_progress", 2),
            ("Review", "in_progress", None),
            ("Done", "done", None),
        ),
        labels=(("Copy", "blue"), ("Design", "purple"), ("Tech", "teal"), ("Urgent", "red")),
    ),
    ProjectSpec(
        "Mobile app 2.0",
        "The rewrite of the mobile app: offline first, faster start-up.",
        ("sam",),
        (
            CardSpec("Design the onboarding screens", "todo", "sam", ("sam",), 2 * D),
            CardSpec(
                "Fix the crash on login with an empty password",
                "todo",
                "sam",
                ("demo",),
                -3 * H,
                "Reported by two customers; the stack trace is in the support ticket.",
                (("sam", "Reproduced on Android 14, not on iOS."),),
            ),
            CardSpec(
                "Offline mode for the task list", "in_progress", "demo", ("sam", "demo"), 10 * D
            ),
            CardSpec("Upgrade the build toolchain", "done", "sam", ("sam",)),
        ),
    ),
    ProjectSpec(
        "Team offsite",
        "Two days away in spring: venue, agenda, travel.",
        ("maya",),
        (
            CardSpec(
                "Book the venue",
                "todo",
                "maya",
                ("demo",),
                12 * H,
                comments=(("maya", "The lake house is free on the 14th and 15th."),),
            ),
            CardSpec("Collect dietary requirements", "todo", "maya", ("maya",), 4 * D),
            CardSpec("Plan the agenda", "in_progress", "demo", ("demo", "maya"), 30 * H),
            CardSpec("Pick a date", "done", "demo", ("maya",), -7 * D),
        ),
    ),
)


@dataclass
class SeedResult:
    owner: User
    others: list[User]
    log: list[str] = field(default_factory=list)


def seed(now: datetime | None = None) -> SeedResult:
    """Create what is missing of the demo account, its team and projects; never duplicates."""
    now = now or utcnow()
    log: list[str] = []
    # Demo data makes no mail: every demo account starts with notifications off (the demo
    # user turns them on at /account to try them), so neither the cards assigned while
    # seeding nor the due dates of made-up tasks reach the outbox.
    owner = _ensure_user(DEMO_EMAIL, DEMO_NAME, log, notifications=False)
    people = {"demo": owner}
    for email, name in TEAM:
        people[email.split("@")[0]] = _ensure_user(email, name, log, notifications=False)
    for spec in PROJECTS:
        _ensure_project(spec, people, now, log)
    if not log:
        log.append(
            f"The demo data is already there ({len(people)} accounts, "
            f"{len(PROJECTS)} projects); nothing added."
        )
    return SeedResult(owner, [people[email.split("@")[0]] for email, _ in TEAM], log)


def _ensure_user(email: str, name: str, log: list[str], *, notifications: bool) -> User:
    user = accounts.find_by_email(email)
    if user is not None:
        return user
    user = accounts.register(email, name, DEMO_PASSWORD)
    if not notifications:
        accounts.update_profile(user, notifications=False)
    log.append(f"Created account {email} ({name}).")
    return user


def _owned_project(owner: User, title: str) -> Project | None:
    return db.session.scalar(
        select(Project)
        .where(Project.owner_id == owner.id, Project.title == title)
        .order_by(Project.created_at)
        .limit(1)
    )


def _ensure_member(owner: User, project_id: uuid.UUID, user: User) -> None:
    if user.is_active and not projects.is_member(user.id, project_id):
        projects.add_member(owner, project_id, user.email)


def _ensure_project(
    spec: ProjectSpec, people: dict[str, User], now: datetime, log: list[str]
) -> None:
    owner = people["demo"]
    if _owned_project(owner, spec.title) is not None:
        return
    project = projects.create(owner, spec.title, spec.description)
    for key in spec.members:
        _ensure_member(owner, project.id, people[key])
    named = _shape_board(owner, project.id, spec)
    label_ids = {
        name: labels.create(owner, project.id, name=name, color=color).id
        for name, color in spec.labels
    }
    comments = 0
    for card in spec.cards:
        task = tasks.create(
            people[card.by],
            project.id,
            title=card.title,
            description=card.description,
            status=None if card.column else card.status,
            column_id=named[card.column] if card.column else None,
            assignee_ids=[people[key].id for key in card.assignees],
            label_ids=[label_ids[name] for name in card.labels],
            due_date=now + card.due if card.due is not None else None,
        )
        for key, body in card.comments:
            tasks.add_comment(people[key], task.id, body)
            comments += 1
        for text, done in card.checklist:
            item = checklists.add_item(people[card.by], task.id, text=text)
            if done:
                checklists.update_item(people[card.by], item.id, done=True)
    log.append(
        f'Created project "{spec.title}" with {_plural(len(spec.cards), "task")} '
        f"and {_plural(comments, 'comment')}."
    )


def _shape_board(owner: User, project_id: uuid.UUID, spec: ProjectSpec) -> dict[str, uuid.UUID]:
    """The spec's columns in place of the default ones (renaming those first of their
    category, adding the rest); the column ids by name."""
    board = columns.list_for_project(owner, project_id)
    unused = {column.category: column for column in board}
    for position, (name, category, wip) in enumerate(spec.columns):
        existing = unused.pop(category, None)
        if existing is not None:
            columns.update(
                owner, existing.id, name=name, wip_limit=wip, position=position
            )
        else:
            columns.create(
                owner, project_id, name=name, category=category, wip_limit=wip,
                position=position,
            )
    return {column.name: column.id for column in columns.list_for_project(owner, project_id)}


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


# Benchmark data ---------------------------------------------------------------------------

# Half the cards in To Do, 30 % in progress, 20 % done.
STATUS_PATTERN: tuple[str, ...] = ("todo",) * 5 + ("in_progress",) * 3 + ("done",) * 2
VERBS = ("Review", "Write", "Fix", "Test", "Design", "Update", "Plan", "Ship", "Measure")
THINGS = (
    "the login form",
    "the invoice export",
    "the search index",
    "the onboarding mail",
    "the release notes",
    "the billing page",
    "the API rate limits",
    "the backup job",
    "the dashboard",
    "the mobile layout",
    "the audit log",
)


@dataclass(frozen=True)
class BenchmarkPlan:
    project_id: uuid.UUID
    owner_id: uuid.UUID
    member_ids: tuple[uuid.UUID, ...]
    existing: int
    target: int

    @property
    def missing(self) -> int:
        return max(self.target - self.existing, 0)


def benchmark_plan(owner: User, others: list[User], target: int) -> BenchmarkPlan:
    """Make sure the owner's "Benchmark" project exists with the team in it; count its tasks."""
    project = _owned_project(owner, BENCHMARK_TITLE)
    if project is None:
        project = projects.create(
            owner, BENCHMARK_TITLE, "Bulk data for load tests: flask demo seed --tasks N."
        )
    for user in others:
        _ensure_member(owner, project.id, user)
    member_ids = tuple(
        db.session.scalars(
            select(Membership.user_id)
            .where(Membership.project_id == project.id)
            .order_by(Membership.created_at, Membership.user_id)
        )
    )
    existing = _task_count(project.id)
    db.session.commit()
    return BenchmarkPlan(project.id, owner.id, member_ids, existing, target)


def _task_count(project_id: uuid.UUID) -> int:
    return db.session.scalar(select(func.count()).where(Task.project_id == project_id)) or 0


def top_up_benchmark(plan: BenchmarkPlan, on_progress: Callable[[int], Any] | None = None) -> int:
    """Insert tasks until the project holds plan.target of them; how many were added.

    Each batch locks the board and recounts first, so two runs at once cannot overshoot
    or break the positions.
    """
    added = 0
    while True:
        inserted = _insert_batch(plan)
        if inserted == 0:
            break
        added += inserted
        if on_progress is not None:
            on_progress(inserted)
    if added:
        db.session.execute(
            update(Project).where(Project.id == plan.project_id).values(updated_at=utcnow())
        )
        db.session.commit()
    return added


def _insert_batch(plan: BenchmarkPlan) -> int:
    # Like every writer of a board: its lock (writers go in turn) and a new board version,
    # so open boards and their ETags see the new cards.
    lock_project(plan.project_id)
    # The cards of each status go to the first column of its category.
    column_of: dict[str, uuid.UUID] = {}
    for column_id, category in db.session.execute(
        select(BoardColumn.id, BoardColumn.category)
        .where(BoardColumn.project_id == plan.project_id)
        .order_by(BoardColumn.position)
    ):
        column_of.setdefault(category, column_id)
    sizes = dict.fromkeys(STATUSES, 0)
    for column_id, count in db.session.execute(
        select(Task.column_id, func.count())
        .where(Task.project_id == plan.project_id)
        .group_by(Task.column_id)
    ):
        for status, first in column_of.items():
            if first == column_id:
                sizes[status] = count
    total = db.session.scalar(
        select(func.count()).select_from(Task).where(Task.project_id == plan.project_id)
    ) or 0
    size = min(BATCH_SIZE, plan.target - total)
    if size <= 0:
        db.session.rollback()
        return 0
    now = utcnow()
    task_rows: list[dict[str, Any]] = []
    assignee_rows: list[dict[str, Any]] = []
    activity_rows: list[dict[str, Any]] = []
    for number in range(total + 1, total + size + 1):
        task = _benchmark_task(plan, number, now)
        task["column_id"] = column_of[task["status"]]
        task["position"] = sizes[task["status"]]
        sizes[task["status"]] += 1
        task_rows.append(task)
        activity_rows.append(
            {
                "task_id": task["id"],
                "actor_id": plan.owner_id,
                "verb": "created",
                "detail": {"title": task["title"], "status": task["status"]},
                "created_at": now,
            }
        )
        for user_id in _benchmark_assignees(plan.member_ids, number):
            assignee_rows.append({"task_id": task["id"], "user_id": user_id})
            activity_rows.append(
                {
                    "task_id": task["id"],
                    "actor_id": plan.owner_id,
                    "verb": "assignee_added",
                    "detail": {"user_id": str(user_id)},
                    "created_at": now,
                }
            )
    db.session.execute(insert(Task.__table__), task_rows)
    if assignee_rows:
        db.session.execute(insert(TaskAssignee.__table__), assignee_rows)
    db.session.execute(insert(Activity.__table__), activity_rows)
    db.session.commit()
    return size


def _benchmark_task(plan: BenchmarkPlan, number: int, now: datetime) -> dict[str, Any]:
    """A varied, deterministic task: the n-th of the project."""
    verb = VERBS[number % len(VERBS)]
    thing = THINGS[(number // len(VERBS)) % len(THINGS)]
    due = None
    if number % 3 == 0:
        # Spread over three weeks back to six weeks ahead, so filters find some of each.
        due = now + timedelta(hours=(number * 37) % (24 * 63) - 24 * 21)
    return {
        "id": uuid.uuid4(),
        "project_id": plan.project_id,
        "title": f"{verb} {thing} #{number}",
        "description": f"Generated benchmark task number {number}." if number % 4 == 0 else "",
        "status": STATUS_PATTERN[number % len(STATUS_PATTERN)],
        "due_date": due,
        "created_by_id": plan.owner_id,
        "created_at": now,
        "updated_at": now,
    }


def _benchmark_assignees(member_ids: tuple[uuid.UUID, ...], number: int) -> list[uuid.UUID]:
    """About half the tasks get one assignee, one in ten a second one."""
    if not member_ids or number % 2:
        return []
    first = member_ids[(number // 2) % len(member_ids)]
    if number % 10 == 0 and len(member_ids) > 1:
        return [first, member_ids[(number // 2 + 1) % len(member_ids)]]
    return [first]
