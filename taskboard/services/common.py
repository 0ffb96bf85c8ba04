"""Small helpers shared by the services."""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy import delete as sql_delete
from sqlalchemy import insert as sql_insert
from sqlalchemy import update as sql_update

from .. import writers
from ..errors import Invalid, NotFound, PreconditionFailed
from ..extensions import db
from ..models import BoardChange, Project, Task

T = TypeVar("T")
# "Not given" for the optional arguments of an update, where None means "clear it".
UNSET: Any = object()


class Actor(Protocol):
    """Who does something: an ORM `User` (the pages) or a `tokens.TokenUser` (the API,
    read with the bearer token). The services ask no more of an actor than this."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def email(self) -> str: ...

    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int


def is_plain(value: str) -> bool:
    """Text a database can store: no NUL character, no lone UTF-16 surrogate."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_plain(value: str, field: str, label: str) -> str:
    if not is_plain(value):
        raise Invalid(f"{label} contains characters that are not allowed.", field=field)
    return value


# Characters that show nothing: a title made only of them looks empty on the board.
_BLANK_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me"})
_BLANK_CHARACTERS = frozenset("\u115f\u1160\u2800\u3164\uffa0")


def looks_empty(value: str) -> bool:
    """Whether text shows nothing: empty, or only spaces, zero-width and format characters
    (U+200B, U+2060, bidi controls …), combining marks and blank fillers (U+2800, U+3164)."""
    return all(
        ch in _BLANK_CHARACTERS or unicodedata.category(ch) in _BLANK_CATEGORIES for ch in value
    )


def clean_text(value: str | None, field: str, label: str, *, min_len: int, max_len: int) -> str:
    """Strip surrounding whitespace and check the length, naming the field on failure.

    Where some text is required, text that shows nothing counts as empty."""
    value = check_plain(value or "", field, label).strip()
    if min_len and looks_empty(value):
        raise Invalid(f"{label} must not be empty.", field=field)
    if len(value) < min_len or len(value) > max_len:
        raise Invalid(f"{label} must be at most {max_len} characters.", field=field)
    return value


# How many versions of a board's changes are kept: a page more versions behind gets the
# whole board on its next poll.
CHANGES_KEPT = 200


def lock_project(project_id: uuid.UUID, *cards: uuid.UUID) -> None:
    """Take the project's write lock for this transaction and mark its board changed.

    Every writer of a board starts here, so writers of one board go in turn: the UPDATE
    locks the row on PostgreSQL and takes the database's write lock on SQLite (where reads
    before the first write run outside any transaction), so what the writer reads next is
    current until it commits. The bumped `board_version` is the board page's ETag.

    `cards` are the cards this change touches, when it touches nothing else of the board
    (a card's fields, place, comments or checklist); without them it is a change of the
    board's layout. Polls of the board answer just those cards (`BoardChange`).
    """
    version = execute_write(_LOCK, {"project_id": project_id}).scalar()
    if version is None:  # deleted meanwhile
        raise NotFound("No such project.")
    _board_changed(project_id, version, cards)


PROJECTS = Project.__table__
BOARD_CHANGES = BoardChange.__table__

# The statements every writer of a board runs, built once, on the tables: run on the
# session's connection they skip the ORM's execution of a statement, about as costly
# as sending it (`execute_write`).
_LOCK = (
    sql_update(PROJECTS)
    .where(PROJECTS.c.id == bindparam("project_id"))
    .values(board_version=PROJECTS.c.board_version + 1)
    .returning(PROJECTS.c.board_version)
)
_LOCK_BY_CARD = (
    sql_update(PROJECTS)
    .where(
        PROJECTS.c.id
        == select(Task.project_id).where(Task.id == bindparam("card_id")).scalar_subquery()
    )
    .values(board_version=PROJECTS.c.board_version + 1)
    .returning(PROJECTS.c.id, PROJECTS.c.board_version)
)
_CHANGED = sql_insert(BOARD_CHANGES)
_FORGET = sql_delete(BOARD_CHANGES).where(
    BOARD_CHANGES.c.project_id == bindparam("project_id"),
    BOARD_CHANGES.c.version <= bindparam("oldest"),
)


def execute_write(statement: Any, params: Any) -> Any:
    """Run a Core write on the session's transaction, after taking the writer turn the
    session's own writes take (`writers`: SQLite's writers queue in turn)."""
    session = db.session()
    writers.take_turn(session)
    return session.connection().execute(statement, params)


def lock_project_of_card(card_id: uuid.UUID) -> bool:
    """`lock_project` for the change of one card, found by the lock's own statement: what
    the writer reads of the card afterwards is current, with no second read. False if
    there is no such card (the caller answers as for one it may not see)."""
    row = execute_write(_LOCK_BY_CARD, {"card_id": card_id}).first()
    if row is None:
        return False
    _board_changed(row.id, row.board_version, (card_id,))
    return True


def _board_changed(project_id: uuid.UUID, version: int, cards: tuple[uuid.UUID, ...]) -> None:
    rows = [
        {"project_id": project_id, "version": version, "task_id": card}
        for card in (cards or (None,))
    ]
    execute_write(_CHANGED, rows[0] if len(rows) == 1 else rows)
    if version % 50 == 0:  # now and then, not a statement more on every write
        execute_write(_FORGET, {"project_id": project_id, "oldest": version - CHANGES_KEPT})


# Input limits, declared once: the services enforce them, and the API's schemas (and so
# the OpenAPI document) and the pages' forms read them from here.
TITLE_MAX = 255  # a project's or a card's title
DESCRIPTION_MAX = 10_000
NAME_MAX = 255  # a person's name
EMAIL_MAX = 254
PASSWORD_MIN = 8
PASSWORD_MAX = 128
TOKEN_NAME_MAX = 100
COMMENT_MAX = 10_000
SEARCH_MAX = 255  # the text filter of task lists
COLUMN_NAME_MAX = 60
WIP_MIN, WIP_MAX = 1, 999
LABEL_NAME_MAX = 40
CHECKLIST_TEXT_MAX = 500


def check_title(title: str | None) -> str:
    """A project's or a card's title: 1 to 255 characters once trimmed."""
    return clean_text(title, "title", "Title", min_len=1, max_len=TITLE_MAX)


def check_description(description: str | None) -> str:
    return clean_text(description, "description", "Description", min_len=0, max_len=DESCRIPTION_MAX)


def check_version(current: int, expected: int | None, what: str = "card") -> None:
    """PreconditionFailed when the caller's copy (version `expected`) is stale."""
    if expected is not None and expected != current:
        raise PreconditionFailed(
            f"This {what} was changed by someone else meanwhile; reload it and try again."
        )


YEAR_MIN = 1900
YEAR_MAX = 9000
# The same range for a date-time's text, as the OpenAPI document states it.
YEAR_PATTERN = r"^(19[0-9]{2}|[2-8][0-9]{3}|9000)-"


def check_moment(value: datetime, field: str, label: str) -> datetime:
    """A point in time the API takes: with an offset, its year (as written) 1900 to 9000.

    Outside that range a date is a typo or an attack, and a year-9999 moment cannot be
    shown in a time zone west of UTC (Python's datetime ends at year 9999).
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise Invalid(f"{label} must carry a timezone offset.", field=field)
    if not YEAR_MIN <= value.year <= YEAR_MAX:
        raise Invalid(f"{label} must be between the years {YEAR_MIN} and {YEAR_MAX}.", field=field)
    return value


def like_pattern(text: str) -> str:
    """A LIKE pattern that matches `text` literally anywhere (escape character: backslash)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
