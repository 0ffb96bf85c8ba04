"""The board: columns of cards, adding, moving, the card detail, comments — htmx and plain."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    render_template,
    request,
)
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict
from wtforms import SelectChoice

from ..errors import Forbidden, Invalid, NotFound, PreconditionFailed
from ..models import STATUS_LABELS, Project, utcnow
from ..services import attachments, checklists, columns, labels, projects, tasks
from ..services.cards import Card
from ..services.columns import ColumnView
from ..services.tasks import UNSET, BoardState, TaskFilter, Window
from .clock import local, viewer_zone, zone_name
from .forms import CommentForm, TaskAddForm, TaskForm, show_error
from .htmx import confirm_page, is_htmx, see_other, trigger, vary

bp = Blueprint("web_board", __name__)

DUE_CHOICES = {"": "Any time", "overdue": "Overdue", "week": "Due in the next 7 days"}
# A position past the end of a column means its end (the service clamps it).
COLUMN_END = 1_000_000
TASK_FIELDS = {"assignee_ids": "assignees", "label_ids": "labels", "column_id": "column"}
BOARD_CHANGED = "board-changed"


@dataclass(frozen=True)
class BoardFilters:
    """The filters above the board, as the page's query string carries them."""

    q: str = ""
    assignee: str = ""
    due: str = ""
    label: str = ""

    @classmethod
    def parse(cls, values: MultiDict) -> BoardFilters:
        q = (values.get("q") or "").strip()[:200]
        assignee = values.get("assignee") or ""
        due = values.get("due") or ""
        label = values.get("label") or ""
        if assignee not in ("", "me"):
            try:
                assignee = str(uuid.UUID(assignee))
            except ValueError:
                abort(400, "Unknown assignee filter.")
        if due not in DUE_CHOICES:
            abort(400, "Unknown due date filter.")
        if label:
            try:
                label = str(uuid.UUID(label))
            except ValueError:
                abort(400, "Unknown label filter.")
        return cls(q, assignee, due, label)

    @property
    def active(self) -> bool:
        return bool(self.q or self.assignee or self.due or self.label)

    def task_filter(self, now: datetime) -> TaskFilter:
        assignee: uuid.UUID | None = None
        if self.assignee == "me":
            assignee = current_user.id
        elif self.assignee:
            assignee = uuid.UUID(self.assignee)
        due: dict[str, Any] = {}
        if self.due == "overdue":
            due = {"overdue": True}
        elif self.due == "week":
            due = {"due_after": now, "due_before": now + timedelta(days=7)}
        label = uuid.UUID(self.label) if self.label else None
        return TaskFilter(q=self.q or None, assignee=assignee, label=label, **due)

    def pairs(self) -> list[tuple[str, str]]:
        fields = (
            ("q", self.q),
            ("assignee", self.assignee),
            ("due", self.due),
            ("label", self.label),
        )
        return [(k, v) for k, v in fields if v]

    def query(self) -> str:
        pairs = self.pairs()
        return ("?" + urlencode(pairs)) if pairs else ""


# How many cards of a column a page may ask to see at once (a script can always page).
SHOW_MAX = 5_000


def _windows() -> list[tuple[uuid.UUID, int, str]]:
    """What the page shows of each column: (column id, cards shown, the last card's id or
    "*" when it shows the whole column). The board's script sends them with every request
    (`X-Board-Shown: <column>:<count>:<last>,…`); a page without it, in the address
    (`?show=<column>:<count>`, from "Show more")."""
    raw = request.headers.get("X-Board-Shown", "")
    values = [part for part in raw.split(",") if part] + request.values.getlist("show")
    windows = []
    for value in values[:50]:
        column, _, rest = value.partition(":")
        count, _, last = rest.partition(":")
        try:
            windows.append((uuid.UUID(column), min(max(int(count), 0), SHOW_MAX), last))
        except ValueError:
            abort(400, "Unknown column window.")
    return windows


def _shown() -> dict[uuid.UUID, int]:
    """How many cards of each column the page shows now."""
    return {column: count for column, count, _ in _windows()}


def _page_size() -> int:
    return current_app.config["BOARD_COLUMN_PAGE"]


def _more_url(
    project_id: uuid.UUID, filters: BoardFilters, column_id: uuid.UUID, upto: int, key: str = ""
) -> str:
    """The board showing the column's first `upto` cards (at its section: `key`)."""
    pairs = [*filters.pairs(), ("show", f"{column_id}:{upto}")]
    return f"/projects/{project_id}?{urlencode(pairs)}#column-{key or column_id}"


def _column_dict(
    project_id: uuid.UUID,
    filters: BoardFilters,
    window: Window,
    index: int,
    board_size: int,
    key: str,
    adds_here: bool,
) -> dict[str, Any]:
    column = window.column
    shown = window.offset + len(window.cards)
    return {
        "id": column.id,
        "key": key,
        "column": column,
        "label": column.name,
        "index": index,
        "last": index == board_size - 1,
        "adds_here": adds_here,
        "cards": window.cards,
        "total": window.total,
        "more": window.more,
        "more_url": _more_url(project_id, filters, column.id, shown + _page_size(), key),
    }


def _columns(
    project: Project, filters: BoardFilters, shown: dict[uuid.UUID, int] | None = None
) -> list[dict[str, Any]]:
    size = _page_size()
    wider = {cid: n for cid, n in (shown or {}).items() if n > size}
    windows = tasks.board_windows(
        current_user, project.id, filters.task_filter(utcnow()), size, wider
    )
    # New cards go to the first To Do column, whose section holds the "Add task" form.
    adds_to = next(w.column.id for w in windows if w.column.category == "todo")
    keys = _column_keys([window.column for window in windows])
    return [
        _column_dict(
            project.id,
            filters,
            window,
            index,
            len(windows),
            key=keys[window.column.id],
            adds_here=window.column.id == adds_to,
        )
        for index, window in enumerate(windows)
    ]


def _etag(project_id: uuid.UUID, filters: BoardFilters, state: BoardState | None = None) -> str:
    """Changes whenever the board for this viewer and these filters does. How much of each
    column the page shows is not part of it: a page that loaded more cards still shows
    the board as it is, and an update answers what changed whatever it shows."""
    state = state or tasks.board_state(current_user, project_id)
    # A 'next 7 days' filter moves with the clock: let it refresh once a minute.
    clock = utcnow().strftime("%Y%m%d%H%M") if filters.due == "week" else ""
    key = f"{project_id}|{current_user.id}|{filters}|{clock}|{zone_name()}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    # The next moments the clock changes the board (a card turning overdue or due soon).
    clock_state = hashlib.sha256(f"{state.next_overdue}|{state.next_due_soon}".encode())
    return f"b{state.version}.t{clock_state.hexdigest()[:8]}.{digest}"


def _board_context(
    project_id: uuid.UUID, filters: BoardFilters, add_form: TaskAddForm | None = None
) -> dict[str, Any]:
    # The page shows the members (loaded when it asks) and the owner's id, not the owner.
    project = projects.get_for_member(current_user, project_id, load=False)
    board = _columns(project, filters, _shown())
    shown = [card for column in board for card in column["cards"]]
    return {
        "project": project,
        "filters": filters,
        "due_choices": DUE_CHOICES,
        "labels": labels.list_for_project(current_user, project.id).items,
        "columns": board,
        "comment_counts": tasks.comment_counts(current_user, project.id, shown),
        "add_form": add_form or TaskAddForm(formdata=None),
        "etag": _etag(project.id, filters),
    }


def _columns_response(
    project_id: uuid.UUID,
    filters: BoardFilters,
    add_form: TaskAddForm | None = None,
    status: int = 200,
) -> Response:
    context = _board_context(project_id, filters, add_form)
    response = make_response(
        render_template("board/_columns.html", **context, oob_filters=True), status
    )
    response.set_etag(context["etag"])
    response.headers["Cache-Control"] = "no-cache, private"
    return vary(response)


# An update of more cards than this is the whole board again (a bulk change).
CHANGES_MAX = 50
_ETAG = re.compile(r'(?:W/)?"?b(\d+)\.(t[0-9a-f]+\.[0-9a-f]+)"?')


def _page_version() -> str:
    """The ETag of the board the page shows: a poll's If-None-Match, or the header the
    board's script sends with its writes."""
    return request.headers.get("X-Board-Version") or request.headers.get("If-None-Match") or ""


def _column_keys(board: list[ColumnView]) -> dict[uuid.UUID, str]:
    """Each column's element key: the first column of each category keeps the name its
    elements always had (`col-todo`, `list-done` …), the others their id."""
    firsts: dict[str, uuid.UUID] = {}
    for column in board:
        firsts.setdefault(column.category, column.id)
    return {
        column.id: column.category if firsts[column.category] == column.id else str(column.id)
        for column in board
    }


def _changes_response(
    project_id: uuid.UUID, filters: BoardFilters, state: BoardState | None = None
) -> Response | None:
    """Only what changed since the version the page shows: each changed card taken out
    and put back where it now is (htmx out-of-band swaps), and every column's count and
    "Show more". None when that cannot be told card by card: then the whole board.

    The page shows each column up to its last card there (`X-Board-Shown`), or all of it;
    a changed card goes back only within that part, before the card now after it."""
    match = _ETAG.fullmatch(_page_version().strip())
    if match is None:
        return None
    state = state or tasks.board_state(current_user, project_id)
    etag = _etag(project_id, filters, state)
    if etag.split(".", 1)[1] != match.group(2):  # other filters, zone or clock counts
        return None
    changed = tasks.changes_since(project_id, int(match.group(1)), state.version)
    if changed is None or len(changed) > CHANGES_MAX:
        return None
    board = columns.list_for_project(current_user, project_id)
    lasts = {column: last for column, _, last in _windows()}
    if set(lasts) != {column.id for column in board}:
        return None  # the page did not say what it shows of every column
    task_filter = filters.task_filter(utcnow())
    tails = {uuid.UUID(last) for last in lasts.values() if last not in ("", "*") and _is_uuid(last)}
    where = tasks.placed(project_id, changed | tails, task_filter)
    upto: dict[uuid.UUID, int | None] = {}  # the rank of the last card shown; None: all
    for column in board:
        last = lasts[column.id]
        if last == "*":
            upto[column.id] = None
            continue
        tail = where.get(uuid.UUID(last)) if _is_uuid(last) else None
        if tail is None or tail.card.column_id != column.id or tail.card.id in changed:
            return None
        upto[column.id] = tail.rank
    keys = _column_keys(board)

    def on_page(placed: tasks.Placed) -> bool:
        last = upto[placed.card.column_id]
        return last is None or placed.rank < last

    # Last first within a column: the card each one goes before is then in place.
    shown = sorted(
        (where[card] for card in changed if card in where and on_page(where[card])),
        key=lambda placed: -placed.rank,
    )
    totals = (
        {column.id: column.task_count for column in board}
        if not filters.active
        else tasks.matching_counts(project_id, task_filter)
    )
    counts = []
    for index, column in enumerate(board):
        total = totals.get(column.id, 0)
        visible = total if upto[column.id] is None else upto[column.id] + 1
        window = Window(column, [], total, visible)  # `more`: what is left after it
        counts.append(
            _column_dict(
                project_id, filters, window, index, len(board), keys[column.id], adds_here=False
            )
        )
    body = render_template(
        "board/_changes.html",
        project=projects.get_for_member(current_user, project_id, load=False),
        filters=filters,
        removed=sorted(changed, key=str),
        inserts=[(placed, keys[placed.card.column_id]) for placed in shown],
        columns=counts,
        comment_counts=tasks.comment_counts(
            current_user, project_id, [placed.card for placed in shown]
        ),
    )
    response = make_response(body)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache, private"
    response.headers["X-Board-Cards"] = ",".join(sorted(str(card) for card in changed))
    return vary(response)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _board_answer(
    project_id: uuid.UUID, filters: BoardFilters, state: BoardState | None = None
) -> Response:
    """A board update for a page (a poll, or after a write from it): what changed since
    the version it shows when that can be told card by card, else its columns."""
    return _changes_response(project_id, filters, state) or _columns_response(project_id, filters)


def _board_page(
    project_id: uuid.UUID,
    filters: BoardFilters,
    *,
    add_form: TaskAddForm | None = None,
    detail: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    context = _board_context(project_id, filters, add_form)
    response = make_response(render_template("board/board.html", **context, detail=detail), status)
    return vary(response)


@bp.get("/projects/<uuid:project_id>")
@login_required
def show(project_id: uuid.UUID) -> Response:
    filters = BoardFilters.parse(request.args)
    if not is_htmx():
        return _board_page(project_id, filters)
    state = tasks.board_state(current_user, project_id)
    etag = _etag(project_id, filters, state)
    if request.if_none_match.contains(etag):
        response = make_response("", 304)
        response.set_etag(etag)
        response.headers["Cache-Control"] = "no-cache, private"
        return vary(response)
    return _board_answer(project_id, filters, state)


@bp.get("/projects/<uuid:project_id>/columns/<uuid:column_id>/cards")
@login_required
def more_cards(project_id: uuid.UUID, column_id: uuid.UUID) -> Response:
    """The next cards of a column ("Show more"): for the board's script, the cards to add
    at the end of the column's list and the new "Show more" out of band; without it, the
    board showing that many more."""
    filters = BoardFilters.parse(request.args)
    try:
        offset = max(int(request.args.get("offset", "0")), 0)
    except ValueError:
        abort(400, "The offset must be a whole number.")
    if not is_htmx():
        upto = min(offset + _page_size(), SHOW_MAX)
        return see_other(_more_url(project_id, filters, column_id, upto))
    window = tasks.column_window(
        current_user, column_id, filters.task_filter(utcnow()), offset, _page_size()
    )
    if window.column.project_id != project_id:
        raise NotFound("No such column.")
    board = columns.list_for_project(current_user, project_id)
    index = next(i for i, c in enumerate(board) if c.id == column_id)
    column = _column_dict(
        project_id, filters, window, index, len(board), key=str(column_id), adds_here=False
    )
    project = projects.get_for_member(current_user, project_id, load=False)
    body = render_template(
        "board/_more_cards.html",
        project=project,
        filters=filters,
        column=column,
        comment_counts=tasks.comment_counts(current_user, project_id, window.cards),
    )
    response = make_response(body)
    response.headers["Cache-Control"] = "no-cache, private"
    return vary(response)


def _adds_out_of_sight(project_id: uuid.UUID) -> bool:
    """Whether a card added at the end of To Do would land past what the page shows of
    it (a long column): then it goes on top, under the form, where the person sees it."""
    board = columns.list_for_project(current_user, project_id)
    first = next(column for column in board if column.category == "todo")
    windows = {column: (count, last) for column, count, last in _windows()}
    if first.id in windows:
        return windows[first.id][1] not in ("*", "")
    return first.task_count >= _page_size()


@bp.post("/projects/<uuid:project_id>/tasks")
@login_required
def add_task(project_id: uuid.UUID) -> Response:
    filters = BoardFilters.parse(request.form)
    form = TaskAddForm()
    if form.validate_on_submit():
        try:
            task = tasks.create(
                current_user,
                project_id,
                title=form.title.data or "",
                at_top=_adds_out_of_sight(project_id),
            )
        except Invalid as error:
            show_error(form, error)
        else:
            if is_htmx():
                response = _board_answer(project_id, filters)
                where = columns.get_for_member(current_user, task.column_id).name
                return trigger(response, "announce", f"Added “{task.title}” to {where}.")
            return see_other(f"/projects/{project_id}{filters.query()}")
    if is_htmx():
        return _columns_response(project_id, filters, add_form=form, status=422)
    return _board_page(project_id, filters, add_form=form, status=422)


# Moving cards ------------------------------------------------------------------------


def _anchor(raw: str, task: Card) -> Card | None:
    """Another card of the same board, named by id; None when it is gone or elsewhere."""
    try:
        other = tasks.get_for_member(current_user, uuid.UUID(raw))
    except (ValueError, NotFound):
        return None
    if other.project_id != task.project_id or other.id == task.id:
        return None
    return other


def _column_named(raw: str | None, board: list[ColumnView]) -> ColumnView | None:
    """The board's column with this id; None when none is named; 400 for another id."""
    if not raw:
        return None
    for column in board:
        if str(column.id) == raw:
            return column
    abort(400, "That column is not on this board (any more): reload the page.")


def _move_target(task: Card, form: MultiDict) -> tuple[uuid.UUID, int]:
    """Where a move request puts the card: (column id, position) for the service.

    The page sends one of: `direction` (the move menu: left/right to the next column,
    up/down past the neighbour shown, top/bottom of the column), `column` + `before` (a
    drop: the card it now sits above, none for the end), `column` + `after` (a drop below
    the last card shown of a partly shown column), or `column` + `position`.
    A `status` instead of a column means the first column of that category.
    """
    board = columns.list_for_project(current_user, task.project_id)
    here = next(index for index, c in enumerate(board) if c.id == task.column_id)
    direction = form.get("direction")
    if direction:
        kind, _, anchor_id = direction.partition(":")
        if kind in ("left", "right"):
            target = here + (1 if kind == "right" else -1)
            if not 0 <= target < len(board):
                raise Invalid("The card is already in the last column that way.", field="status")
            return board[target].id, COLUMN_END
        if kind == "top":
            return task.column_id, 0
        if kind == "bottom":
            return task.column_id, COLUMN_END
        if kind in ("up", "down"):
            # Past the neighbour shown on the page (named, or the next matching card of
            # the filters the page sends), so a filtered board moves past hidden cards.
            other = _anchor(anchor_id, task) if anchor_id else None
            if other is not None and other.column_id == task.column_id:
                return task.column_id, other.position
            filters = BoardFilters.parse(form)
            if filters.active:
                found = tasks.neighbour_position(
                    task, filters.task_filter(utcnow()), above=kind == "up"
                )
                if found is not None:
                    return task.column_id, found
            step = -1 if kind == "up" else 1
            return task.column_id, max(task.position + step, 0)
        abort(400, "Unknown move.")
    column = _column_named(form.get("column"), board)
    if column is not None:
        column_id = column.id
    else:  # the service's rule for a status alone (its own column if it already fits)
        status = form.get("status") or None
        column_id = columns.destination(task.column_id, task.project_id, None, status).id
    if form.get("place"):
        # The move page's "Position": counted from 1, as people count.
        try:
            place = int(form["place"])
        except ValueError:
            place = 0
        if place < 1:
            raise Invalid("The position is a whole number from 1 (the top).", field="position")
        return column_id, place - 1
    if form.get("position"):
        # An explicit place in the whole column, as the API's PATCH takes it.
        try:
            return column_id, int(form["position"])
        except ValueError:
            abort(400, "The position must be a whole number.")
    # Dropped above a card (`before`), or below the last card a partly shown column
    # shows (`after`): right after that card, not past the cards the page has not loaded.
    for name, offset in (("before", 0), ("after", 1)):
        other = _anchor(form[name], task) if form.get(name) else None
        if other is not None and other.column_id == column_id:
            shift = 1 if column_id == task.column_id and task.position < other.position else 0
            return column_id, other.position + offset - shift
    return column_id, COLUMN_END


@bp.post("/tasks/<uuid:task_id>/move")
@login_required
def move(task_id: uuid.UUID) -> Response:
    task = tasks.get_for_member(current_user, task_id)
    column_id, position = _move_target(task, request.form)
    moved = tasks.update(current_user, task_id, column_id=column_id, position=position)
    filters = BoardFilters.parse(request.form)
    if is_htmx():
        response = _board_answer(moved.project_id, filters)
        name = columns.get_for_member(current_user, moved.column_id).name
        where = f"{name}, position {moved.position + 1}"
        return trigger(response, "announce", f"Moved “{moved.title}” to {where}.")
    # Without JavaScript: back to the board, showing as much of the column as reaches it.
    if moved.position >= _page_size():
        board = _more_url(moved.project_id, filters, moved.column_id, moved.position + 1)
        return see_other(board.split("#", 1)[0] + f"#card-{moved.id}")
    return see_other(f"/projects/{moved.project_id}{filters.query()}#card-{moved.id}")


@bp.get("/tasks/<uuid:task_id>/move")
@login_required
def move_page(task_id: uuid.UUID) -> Response:
    """The moves of a card on a page of their own (the board's "Move" without JavaScript)."""
    task = tasks.get_for_member(current_user, task_id)
    board = columns.list_for_project(current_user, task.project_id)
    here = next(index for index, c in enumerate(board) if c.id == task.column_id)
    size = board[here].task_count
    project = projects.get_for_member(current_user, task.project_id, load=False)
    return vary(
        make_response(
            render_template(
                "board/move.html",
                task=task,
                project=project,
                columns=board,
                here=here,
                size=size,
                filters=BoardFilters.parse(request.args),
            )
        )
    )


# The card detail ------------------------------------------------------------------------


def member_choices(project: Project) -> list[SelectChoice]:
    return [SelectChoice(str(u.id), u.name) for u in project.members]


def _task_form(task: Card, project: Project, formdata: Any = UNSET) -> TaskForm:
    if formdata is UNSET:
        form = TaskForm(
            formdata=None,
            title=task.title,
            description=task.description,
            status=task.status,
            column=str(task.column_id),
            assignees=[str(u.id) for u in task.assignees],
            labels=[str(tag.id) for tag in task.labels],
            due_date=local(task.due_date).date().isoformat() if task.due_date else "",
            due_time=_time_field(task.due_date),
            version=str(task.version),
        )
    else:
        form = TaskForm()
    _choices(form, project)
    return form


def _choices(form: TaskForm, project: Project) -> None:
    form.assignees.choices = member_choices(project)
    form.labels.choices = [
        SelectChoice(str(label.id), label.name)
        for label in labels.list_for_project(current_user, project.id).items
    ]
    form.column.choices = [
        SelectChoice(str(column.id), column.name)
        for column in columns.list_for_project(current_user, project.id)
    ]


def _detail_context(
    task_id: uuid.UUID,
    *,
    form: TaskForm | None = None,
    comment_form: CommentForm | None = None,
    saved: bool = False,
    editing: dict[str, Any] | None = None,
    item_error: dict[str, Any] | None = None,
    attachment_error: str | None = None,
) -> dict[str, Any]:
    task = tasks.get_for_member(current_user, task_id)
    project = projects.get_for_member(current_user, task.project_id)
    if form is not None:
        _choices(form, project)
    return {
        "task": task,
        "project": project,
        "form": form or _task_form(task, project),
        "comment_form": comment_form or CommentForm(formdata=None),
        "comments": tasks.list_comments(current_user, task.id).items,
        "activity": tasks.list_activity(current_user, task.id).items,
        "checklist": checklists.list_items(current_user, task.id).items,
        "item_error": item_error,
        "attachments": attachments.list_for_task(current_user, task.id).items,
        "attachment_error": attachment_error,
        "attachment_max": current_app.config["ATTACHMENT_MAX_BYTES"],
        "statuses": STATUS_LABELS,
        "saved": saved,
        # A comment being edited whose text was refused: its id, the text, the error.
        "editing": editing or {},
    }


def detail_response(task_id: uuid.UUID, status: int = 200, **kw: Any) -> Response:
    detail = _detail_context(task_id, **kw)
    if is_htmx():
        return vary(make_response(render_template("board/_detail.html", **detail), status))
    filters = BoardFilters.parse(request.args)
    return _board_page(detail["task"].project_id, filters, detail=detail, status=status)


@bp.get("/tasks/<uuid:task_id>")
@login_required
def detail(task_id: uuid.UUID) -> Response:
    return detail_response(task_id, editing=_comment_to_edit(request.args.get("edit_comment")))


def _comment_to_edit(raw: str | None) -> dict[str, Any] | None:
    """`?edit_comment=<id>`: that comment shown as a form (no id, or not one: none)."""
    try:
        return {"id": uuid.UUID(raw or ""), "body": None, "error": None}
    except ValueError:
        return None


END_OF_DAY = time(23, 59)


def _time_field(due: datetime | None) -> str:
    """The form's "Due time": the time where the viewer is, empty for the end of a day."""
    if due is None:
        return ""
    moment = local(due).time().replace(second=0, microsecond=0)
    return "" if moment == END_OF_DAY else moment.strftime("%H:%M")


def _parse_due(raw: str | None, raw_time: str | None, task: Card) -> Any:
    """The moment from the form's date and optional time, where the viewer is: without a
    time, the end of that day. A date and time as the card already shows them keep the
    moment it has (set to the second through the API, say); so does an unchanged date
    from a form without the time field (`raw_time` None)."""
    if raw_time is None and task.due_date is not None:
        raw_time = _time_field(task.due_date)
    raw, raw_time = (raw or "").strip(), (raw_time or "").strip()
    if not raw:
        if raw_time:
            raise Invalid("Give a date for the time, or clear the time.", field="due_time")
        return None
    try:
        day = datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError as exc:
        raise Invalid("Enter the date as YYYY-MM-DD.", field="due_date") from exc
    try:
        at = datetime.strptime(raw_time, "%H:%M").time() if raw_time else END_OF_DAY
    except ValueError as exc:
        raise Invalid("Enter the time as HH:MM, e.g. 14:30.", field="due_time") from exc
    if (
        task.due_date is not None
        and local(task.due_date).date() == day
        and _time_field(task.due_date) == raw_time
    ):
        return UNSET
    return datetime.combine(day, at, tzinfo=viewer_zone())


def _parse_assignees(values: list[str]) -> list[uuid.UUID]:
    try:
        return [uuid.UUID(v) for v in values]
    except ValueError as exc:
        raise Invalid("Pick assignees from the list.", field="assignee_ids") from exc


def _parse_labels(values: list[str]) -> list[uuid.UUID]:
    try:
        return [uuid.UUID(v) for v in values]
    except ValueError as exc:
        raise Invalid("Pick labels from the list.", field="label_ids") from exc


def _placement(form: TaskForm, task: Card) -> dict[str, Any]:
    """The form's Column and Status: a changed column wins; a changed status alone goes
    to the first column of that category; neither changed, no move."""
    raw_column = form.column.data if "column" in request.form else ""
    if raw_column and raw_column != str(task.column_id):
        try:
            return {"column_id": uuid.UUID(raw_column)}
        except ValueError as exc:
            raise Invalid("Pick a column from the list.", field="column_id") from exc
    status = form.status.data or task.status
    return {"status": status} if status != task.status else {}


def _form_version(raw: str | None) -> int | None:
    """The version the edit form carries; none (an old page, a script) skips the check."""
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() else None


@bp.post("/tasks/<uuid:task_id>")
@login_required
def save(task_id: uuid.UUID) -> Response:
    task = tasks.get_for_member(current_user, task_id)
    form = TaskForm()
    form.assignees.choices = []
    if form.validate_on_submit():
        try:
            # Forms from before labels existed send none: they leave the labels alone.
            label_ids = (
                _parse_labels(request.form.getlist("labels"))
                if "labels-present" in request.form
                else UNSET
            )
            updated = tasks.update(
                current_user,
                task_id,
                title=form.title.data or "",
                description=form.description.data or "",
                **_placement(form, task),
                assignee_ids=_parse_assignees(request.form.getlist("assignees")),
                label_ids=label_ids,
                due_date=_parse_due(
                    form.due_date.data,
                    form.due_time.data if "due_time" in request.form else None,
                    task,
                ),
                expected_version=_form_version(form.version.data),
            )
        except Invalid as error:
            show_error(form, error, TASK_FIELDS)
        except PreconditionFailed:
            current = tasks.get_for_member(current_user, task_id)
            form.form_errors.append(
                "Someone else changed this card while you were editing it. Your changes are "
                "kept below: check the card and save again to replace theirs."
            )
            form.version.data = str(current.version)  # a second Save is a deliberate choice
            return detail_response(task_id, status=409, form=form)
        else:
            if is_htmx():
                response = detail_response(task_id, saved=True)
                trigger(response, BOARD_CHANGED)
                return trigger(response, "announce", f"Saved “{updated.title}”.")
            flash("Task saved.", "success")
            return see_other(f"/tasks/{task_id}")
    return detail_response(task_id, status=422, form=form)


@bp.post("/tasks/<uuid:task_id>/comments")
@login_required
def comment(task_id: uuid.UUID) -> Response:
    comment_form = CommentForm()
    if comment_form.validate_on_submit():
        try:
            tasks.add_comment(current_user, task_id, comment_form.body.data or "")
        except Invalid as error:
            show_error(comment_form, error)
        else:
            if is_htmx():
                response = detail_response(task_id)
                trigger(response, BOARD_CHANGED)
                return trigger(response, "announce", "Comment added.")
            return see_other(f"/tasks/{task_id}#comments")
    return detail_response(task_id, status=422, comment_form=comment_form)


@bp.post("/comments/<uuid:comment_id>")
@login_required
def edit_comment(comment_id: uuid.UUID) -> Response:
    comment = tasks.get_comment(current_user, comment_id)
    form = CommentForm()
    typed = form.body.data or ""
    if form.validate_on_submit():
        try:
            tasks.edit_comment(current_user, comment_id, typed)
        except (Invalid, Forbidden) as error:
            editing = {"id": comment_id, "body": typed, "error": error.message}
            status = 403 if isinstance(error, Forbidden) else 422
            return detail_response(comment.task_id, status=status, editing=editing)
        if is_htmx():
            response = detail_response(comment.task_id)
            trigger(response, BOARD_CHANGED)
            return trigger(response, "announce", "Comment saved.")
        return see_other(f"/tasks/{comment.task_id}#comment-{comment_id}")
    return detail_response(comment.task_id, status=422)


@bp.post("/comments/<uuid:comment_id>/delete")
@login_required
def delete_comment(comment_id: uuid.UUID) -> Response:
    comment = tasks.get_comment(current_user, comment_id)
    task_id = comment.task_id
    if request.form.get("confirm") != "yes":
        return confirm_page(
            question="Delete this comment?",
            consequence="The history keeps that it was deleted, not what it said.",
            action=f"/comments/{comment_id}/delete",
            button="Delete comment",
            cancel=f"/tasks/{task_id}#comment-{comment_id}",
        )
    tasks.delete_comment(current_user, comment_id)
    if is_htmx():
        response = detail_response(task_id)
        trigger(response, BOARD_CHANGED)
        return trigger(response, "announce", "Comment deleted.")
    flash("Comment deleted.", "success")
    return see_other(f"/tasks/{task_id}#comments")


@bp.post("/tasks/<uuid:task_id>/delete")
@login_required
def delete(task_id: uuid.UUID) -> Response:
    task = tasks.get_for_member(current_user, task_id)
    if request.form.get("confirm") != "yes":
        return confirm_page(
            question=f"Delete “{task.title}”?",
            consequence="It goes to the project's trash with its comments and history; "
            "any member can restore it from there.",
            action=f"/tasks/{task.id}/delete",
            button="Delete task",
            cancel=f"/tasks/{task.id}",
        )
    project_id, title = task.project_id, task.title
    tasks.delete_task(current_user, task_id)
    if is_htmx():
        response = vary(make_response("", 200))
        trigger(response, BOARD_CHANGED)
        # A notice everyone sees (and hears: it is an alert) with its "Undo", focus back
        # on the board.
        notice = {"value": f"Task “{title}” deleted.", "undo": f"/tasks/{task_id}/restore"}
        return trigger(response, "task-deleted", notice)
    flash({"text": f"Task “{title}” deleted.", "undo": f"/tasks/{task_id}/restore"}, "undo")
    return see_other(f"/projects/{project_id}")


# The checklist ------------------------------------------------------------------------


def _after_item_change(task_id: uuid.UUID, message: str, anchor: str) -> Response:
    if is_htmx():
        response = detail_response(task_id)
        trigger(response, BOARD_CHANGED)
        return trigger(response, "announce", message)
    return see_other(f"/tasks/{task_id}#{anchor}")


@bp.post("/tasks/<uuid:task_id>/checklist")
@login_required
def add_item(task_id: uuid.UUID) -> Response:
    text = request.form.get("text", "")
    try:
        item = checklists.add_item(current_user, task_id, text=text)
    except Invalid as error:
        return detail_response(
            task_id, status=422, item_error={"text": text, "message": error.message}
        )
    return _after_item_change(task_id, f"Added “{item.text}” to the checklist.", "checklist-new")


@bp.post("/checklist/<uuid:item_id>")
@login_required
def update_item(item_id: uuid.UUID) -> Response:
    """Tick or untick an item: the checkbox's form sends `done` when it is ticked."""
    item = checklists.get_item(current_user, item_id)
    done = request.form.get("done") in ("1", "on", "true")
    item = checklists.update_item(current_user, item_id, done=done)
    state = "done" if item.done else "not done"
    return _after_item_change(item.task_id, f"“{item.text}” {state}.", f"item-{item.id}")


@bp.post("/checklist/<uuid:item_id>/delete")
@login_required
def delete_item(item_id: uuid.UUID) -> Response:
    item = checklists.get_item(current_user, item_id)
    task_id, text = item.task_id, item.text
    checklists.delete_item(current_user, item_id)
    return _after_item_change(task_id, f"Removed “{text}” from the checklist.", "checklist")
