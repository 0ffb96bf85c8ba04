"""A Trello board export ("Export as JSON") converted to Taskboard's project document.

The document is the one `docs/export-format.md` describes, so a Trello import follows the
same rules as any other import. Nothing here touches the database: bytes in, a dict out.

Texts are cleaned the way the services clean them (trimmed, NUL and lone surrogates
replaced) and shortened to their limits with "…", so a real Trello board never fails on
a long name. A file that is not a board export, or one whose values have the wrong types,
is `Invalid` with the path of the culprit (`cards[3].name must be text.`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, BinaryIO

from ..errors import Invalid, TooLarge
from ..models import LABEL_COLORS
from .common import (
    CHECKLIST_TEXT_MAX,
    COLUMN_NAME_MAX,
    COMMENT_MAX,
    DESCRIPTION_MAX,
    EMAIL_MAX,
    LABEL_NAME_MAX,
    NAME_MAX,
    TITLE_MAX,
    YEAR_MAX,
    YEAR_MIN,
    is_plain,
    looks_empty,
)

NOT_AN_EXPORT = "This is not a Trello board export: "
# The keys read anywhere in an export. Every other key (badges, prefs, limits, cover,
# attachments, plugin data …) is dropped while the JSON is parsed, so the parsed file
# holds only what the conversion reads.
_KEPT_KEYS = frozenset(
    {
        "id", "name", "desc", "closed", "pos", "format",
        "lists", "cards", "labels", "checklists", "members", "actions",
        "idList", "idCard", "due", "idLabels", "idMembers", "dateLastActivity",
        "color", "checkItems", "state", "fullName", "username", "email",
        "type", "date", "idMemberCreator", "memberCreator", "data", "text", "card",
        "dateLastEdited",
    }
)  # fmt: skip
_TRELLO_ID = re.compile(r"[0-9a-f]{24}")
# Trello's colours (and their "_dark"/"_light" variants) in Taskboard's palette.
_COLORS = {"sky": "teal", "lime": "green", "black": "gray"}
_CREATING_ACTIONS = frozenset({"createCard", "copyCard", "convertToCardFromCheckItem"})
_COMMENT_ACTIONS = frozenset({"commentCard", "copyCommentCard"})
UNKNOWN_PERSON = "Trello member"
_EARLIEST = datetime.min.replace(tzinfo=UTC)

Obj = dict[str, Any]


def to_document(raw: bytes | BinaryIO, *, max_bytes: int) -> dict[str, Any]:
    """The project document for a Trello board export given as bytes or a binary file."""
    board = _parse(_read(raw, max_bytes))
    _check_is_board(board)
    return _Converter(board).document()


# Reading and parsing ---------------------------------------------------------------


def _read(raw: bytes | BinaryIO, max_bytes: int) -> bytes:
    """The file's bytes, reading a stream no further than one byte past the limit."""
    if isinstance(raw, bytes | bytearray | memoryview):
        data = bytes(raw)
    else:
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            chunk = raw.read(max_bytes + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    if len(data) > max_bytes:
        raise TooLarge(f"The file is larger than {_size(max_bytes)}.", field="file")
    return data


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g} MiB"
    if n >= 1024:
        return f"{n / 1024:g} KiB"
    return f"{n} bytes"


def _keep_pairs(pairs: list[tuple[str, Any]]) -> Obj:
    return {k: v for k, v in pairs if k in _KEPT_KEYS}


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _parse(data: bytes) -> Any:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(
            f"The file is not UTF-8 text (byte {exc.start} cannot be read); "
            "a Trello export is JSON in UTF-8.",
            field="file",
        ) from exc
    del data
    if not text.strip():
        raise Invalid("The file is empty.", field="file")
    try:
        return json.loads(text, object_pairs_hook=_keep_pairs, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise Invalid(
            f"The file is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).",
            field="file",
        ) from exc
    except ValueError as exc:
        raise Invalid(f"The file is not valid JSON: {exc}.", field="file") from exc
    except RecursionError as exc:
        raise Invalid("The file is not valid JSON: it is nested too deeply.", field="file") from exc


def _check_is_board(board: Any) -> None:
    if not isinstance(board, dict):
        raise Invalid(NOT_AN_EXPORT + "its top level is not an object.", field="file")
    if board.get("format") == "taskboard.project":
        raise Invalid(
            NOT_AN_EXPORT + "it is a Taskboard project export; import it as a project instead.",
            field="file",
        )
    missing = [k for k in ("id", "name", "lists", "cards") if k not in board]
    if missing:
        raise Invalid(
            NOT_AN_EXPORT + f"it has no {' and no '.join(repr(k) for k in missing)} "
            '(use "Export as JSON" in the board\'s menu).',
            field="file",
        )


# Column categories, guessed from list names --------------------------------------

# Words and phrases (matched whole, ignoring case) in English, German, French, Spanish,
# Portuguese, Italian, Dutch, Polish, Russian, Arabic and Hebrew; CJK and Korean by
# substring. The "not yet" phrases go first, so "Not started" is not in progress.
_NOT_YET = (
    "not started", "not yet started", "not done", "not complete", "not completed",
    "not finished", "to start", "to do", "todo", "nicht erledigt", "nicht begonnen",
    "noch nicht", "pas commencé", "pas fait", "à faire", "sin empezar", "no iniciado",
    "por hacer", "pendiente", "a fazer", "não iniciado", "da fare", "non iniziato",
    "te doen", "niet gestart", "do zrobienia", "не начато", "сделать", "getting started",
)  # fmt: skip
_DONE = (
    "done", "complete", "completed", "finished", "shipped", "released", "closed",
    "resolved", "deployed", "delivered", "fixed", "merged", "archive", "archived",
    "erledigt", "fertig", "abgeschlossen", "geschlossen", "terminé", "terminée",
    "terminés", "fini", "finie", "fait", "clos", "livré", "hecho", "terminado",
    "terminada", "completado", "completada", "finalizado", "finalizada", "listo",
    "cerrado", "resuelto", "feito", "concluído", "concluido", "pronto", "entregue",
    "fatto", "completato", "finito", "chiuso", "klaar", "gedaan", "afgerond", "voltooid",
    "zrobione", "gotowe", "zakończone", "готово", "сделано", "выполнено", "завершено",
    "منجز", "مكتمل", "تم", "בוצע", "הושלם", "גמור",
)  # fmt: skip
_DOING = (
    "doing", "in progress", "progress", "wip", "working", "review", "in review",
    "reviewing", "testing", "in test", "qa", "started", "active", "ongoing",
    "in development", "in arbeit", "in bearbeitung", "läuft", "laufend", "in prüfung",
    "aktiv", "en cours", "en test", "en revue", "en progreso", "en curso", "haciendo",
    "en proceso", "en revisión", "em andamento", "fazendo", "em progresso", "em curso",
    "em revisão", "in corso", "in lavorazione", "bezig", "in behandeling", "w toku",
    "w trakcie", "в работе", "в процессе", "قيد التنفيذ", "قيد العمل", "جاري",
    "בתהליך", "בעבודה", "בביצוע",
)  # fmt: skip
_CJK_NOT_YET = ("未着手", "未完了", "未完成", "未开始", "未開始", "未対応", "할 일")
_CJK_DONE = ("完了", "完成", "済み", "已完成", "完毕", "완료")
_CJK_DOING = ("進行中", "进行中", "作業中", "対応中", "処理中", "进行", "진행")


def _words(phrases: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(
        r"\s+".join(re.escape(word) for word in phrase.split()) for phrase in phrases
    )
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


_CATEGORY_TESTS = (
    (_words(_NOT_YET), _CJK_NOT_YET, "todo"),
    (_words(_DONE), _CJK_DONE, "done"),
    (_words(_DOING), _CJK_DOING, "in_progress"),
)


def guess_category(name: str) -> str:
    """The category a list's name suggests ("Done ✅" is done, "Not started" to do)."""
    key = re.sub(r"[-_./·|:]+", " ", name.casefold())
    for words, substrings, category in _CATEGORY_TESTS:
        if words.search(key) or any(s in key for s in substrings):
            return category
    return "todo"


# Values, checked by type ---------------------------------------------------------


def _at(where: str, key: str) -> str:
    """The path of `key` in the object at `where` ("" being the board itself)."""
    return f"{where}.{key}" if where else key


def _wrong(where: str, what: str) -> Invalid:
    return Invalid(f"This Trello export is not valid: {where} must be {what}.", field="file")


def _objects(parent: Obj, key: str, where: str = "") -> list[tuple[int, Obj]]:
    """The objects of the array `parent[key]` with their indexes; missing or null: none."""
    path = _at(where, key)
    items = parent.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise _wrong(path, "an array")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise _wrong(f"{path}[{i}]", "an object")
    return list(enumerate(items))


def _str(obj: Obj, key: str, where: str, *, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise _wrong(_at(where, key), "text")
    return value


def _id(obj: Obj, where: str) -> str:
    value = _str(obj, "id", where, required=True)
    assert value is not None
    if not value:
        raise _wrong(_at(where, "id"), "a non-empty text")
    return value


def _ids(obj: Obj, key: str, where: str) -> list[str]:
    values = obj.get(key)
    if values is None:
        return []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise _wrong(_at(where, key), "an array of ids")
    return values


def _bool(obj: Obj, key: str, where: str) -> bool:
    value = obj.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _wrong(_at(where, key), "true or false")
    return value


def _pos(obj: Obj, where: str) -> float | None:
    value = obj.get("pos")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _wrong(_at(where, "pos"), "a number")
    return value


def _moment(obj: Obj, key: str, where: str) -> str | None:
    """An ISO 8601 date-time in UTC from a Trello date (`2024-03-01T09:30:00.000Z`)."""
    moment = _when(obj, key, where)
    return None if moment is None else _iso(moment)


def _when(obj: Obj, key: str, where: str) -> datetime | None:
    value = _str(obj, key, where)
    if value is None or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise _wrong(_at(where, key), "a date and time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not YEAR_MIN <= moment.year <= YEAR_MAX:
        raise _wrong(_at(where, key), f"a date between the years {YEAR_MIN} and {YEAR_MAX}")
    return moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    spec = "milliseconds" if moment.microsecond else "seconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


def _id_when(trello_id: str) -> datetime | None:
    """When a Trello object was made: its id starts with a Unix time in 8 hex digits."""
    if not _TRELLO_ID.fullmatch(trello_id):
        return None
    moment = datetime.fromtimestamp(int(trello_id[:8], 16), UTC)
    return moment if YEAR_MIN <= moment.year <= YEAR_MAX else None


def _id_moment(trello_id: str) -> str | None:
    moment = _id_when(trello_id)
    return None if moment is None else _iso(moment)


def _order(items: Iterable[tuple[int, Obj]], where: str) -> list[tuple[int, Obj]]:
    """By Trello's `pos`; those without one after the others, all ties in file order."""

    def key(item: tuple[int, Obj]) -> tuple[int, float, int]:
        pos = _pos(item[1], f"{where}[{item[0]}]")
        return (1, 0.0, item[0]) if pos is None else (0, pos, item[0])

    return sorted(items, key=key)


# Texts -----------------------------------------------------------------------------


def _plain(value: str) -> str:
    if is_plain(value):
        return value
    value = value.replace("\x00", "")
    return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _shorten(value: str, limit: int) -> str:
    if len(value) <= limit:
        return value
    return value[: limit - 1].rstrip() + "…"


def _text(value: str | None, limit: int, fallback: str = "") -> str:
    """Trimmed and shortened to `limit`; `fallback` when it shows nothing."""
    value = _plain(value or "").strip()
    if looks_empty(value):
        return fallback
    return _shorten(value, limit)


def _unique(name: str, taken: set[str], limit: int) -> str:
    """`name`, or "name (2)", "name (3)" … when a name equal ignoring case is taken."""
    candidate, n = name, 1
    while candidate.casefold() in taken:
        n += 1
        suffix = f" ({n})"
        candidate = _shorten(name, limit - len(suffix)) + suffix
    taken.add(candidate.casefold())
    return candidate


def _color(trello_color: Any) -> str:
    if not isinstance(trello_color, str) or not trello_color:
        return "gray"
    base = trello_color.lower().removesuffix("_dark").removesuffix("_light")
    base = _COLORS.get(base, base)
    return base if base in LABEL_COLORS else "gray"


def _email(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    local, at, domain = value.rpartition("@")
    if not (at and local and "." in domain) or len(value) > EMAIL_MAX or not is_plain(value):
        return None
    return None if any(ch.isspace() for ch in value) else value


# The conversion --------------------------------------------------------------------


class _Converter:
    """One board's conversion; its parts read the board once each."""

    def __init__(self, board: Obj) -> None:
        self.board = board
        self.people: dict[str, Obj] = {}  # Trello member id → {"email", "name"}
        self.columns: list[Obj] = []
        self.labels: dict[str, str] = {}  # Trello label id → the (merged) label's id
        self.label_list: list[Obj] = []
        self.cards: dict[str, Obj] = {}  # Trello card id → its task
        self.created: dict[str, tuple[datetime, Obj]] = {}  # card id → when, by whom
        self.updated: dict[str, datetime | None] = {}

    def document(self) -> dict[str, Any]:
        board = self.board
        members = self._members()
        self._columns()
        self._labels()
        tasks = self._tasks()
        self._actions()
        self._checklists()
        for task in tasks:
            self._finish(task)
        board_id = _id(board, "")
        name = _str(board, "name", "")
        project: Obj = {
            "id": board_id,
            "title": _text(name, TITLE_MAX, "Untitled board"),
            "description": _text(_str(board, "desc", ""), DESCRIPTION_MAX),
        }
        _put(project, "created_at", _id_moment(board_id))
        _put(project, "updated_at", _moment(board, "dateLastActivity", ""))
        return {
            "format": "taskboard.project",
            "version": 1,
            "project": project,
            "members": members,
            "columns": self.columns,
            "labels": self.label_list,
            "tasks": tasks,
        }

    def _members(self) -> list[Obj]:
        """Board members by id; those with an email are the document's members."""
        members: list[Obj] = []
        emails: set[str] = set()
        for i, member in _objects(self.board, "members"):
            where = f"members[{i}]"
            person = {
                "email": _email(member.get("email")),
                "name": _person_name(member, where),
            }
            self.people[_id(member, where)] = person
            email = person["email"]
            if email is not None and email.casefold() not in emails:
                emails.add(email.casefold())
                members.append(dict(person))
        return members

    def _person(self, member_id: Any, creator: Any, where: str) -> Obj:
        """{"email", "name"} of an action's author: the board member, else `memberCreator`."""
        known = self.people.get(member_id) if isinstance(member_id, str) else None
        if isinstance(creator, dict):
            name = _person_name(creator, f"{where}.memberCreator", fallback="")
            email = _email(creator.get("email"))
        else:
            name, email = "", None
        if known is not None:
            return {"email": known["email"] or email, "name": known["name"]}
        return {"email": email, "name": name or UNKNOWN_PERSON}

    def _columns(self) -> None:
        taken: set[str] = set()
        seen: set[str] = set()
        for i, trello_list in _order(_objects(self.board, "lists"), "lists"):
            where = f"lists[{i}]"
            list_id = _unseen(_id(trello_list, where), seen, where)
            name = _text(_str(trello_list, "name", where), COLUMN_NAME_MAX, "Untitled")
            if _bool(trello_list, "closed", where):
                continue
            column = {
                "id": list_id,
                "name": _unique(name, taken, COLUMN_NAME_MAX),
                "category": guess_category(name),
                "wip_limit": None,
            }
            _put(column, "created_at", _id_moment(list_id))
            self.columns.append(column)
        if not self.columns:
            self.columns.append(
                {"id": "trello-to-do", "name": "To Do", "category": "todo", "wip_limit": None}
            )

    def _labels(self) -> None:
        by_name: dict[str, str] = {}
        for i, label in _objects(self.board, "labels"):
            where = f"labels[{i}]"
            label_id = _id(label, where)
            color = label.get("color")
            if color is not None and not isinstance(color, str):
                raise _wrong(f"{where}.color", "text or null")
            fallback = (color or "gray").replace("_", " ")
            name = _text(_str(label, "name", where), LABEL_NAME_MAX, fallback)
            key = name.casefold()
            if key in by_name:
                self.labels.setdefault(label_id, by_name[key])
                continue
            by_name[key] = self.labels[label_id] = label_id
            entry = {"id": label_id, "name": name, "color": _color(color)}
            _put(entry, "created_at", _id_moment(label_id))
            self.label_list.append(entry)

    def _tasks(self) -> list[Obj]:
        """The cards of open lists, in board order then position; archived ones trashed."""
        by_list: dict[str, list[tuple[int, Obj]]] = {}
        seen: set[str] = set()
        for i, card in _objects(self.board, "cards"):
            where = f"cards[{i}]"
            _unseen(_id(card, where), seen, where)
            list_id = _str(card, "idList", where, required=True)
            by_list.setdefault(list_id or "", []).append((i, card))
        tasks: list[Obj] = []
        for column in self.columns:
            cards = _order(by_list.get(column["id"], []), "cards")
            live = [(i, c) for i, c in cards if not _bool(c, "closed", f"cards[{i}]")]
            trashed = [(i, c) for i, c in cards if _bool(c, "closed", f"cards[{i}]")]
            for position, (i, card) in enumerate(live + trashed):
                task = self._task(card, f"cards[{i}]", column["id"], position)
                task["trashed"] = position >= len(live)
                tasks.append(task)
        return tasks

    def _task(self, card: Obj, where: str, column_id: str, position: int) -> Obj:
        card_id = _id(card, where)
        labels = []
        for label_id in _ids(card, "idLabels", where):
            merged = self.labels.get(label_id)
            if merged is not None and merged not in labels:
                labels.append(merged)
        assignees, emails = [], set()
        for member_id in _ids(card, "idMembers", where):
            person = self.people.get(member_id)
            if person and person["email"] and person["email"].casefold() not in emails:
                emails.add(person["email"].casefold())
                assignees.append(dict(person))
        task: Obj = {
            "id": card_id,
            "title": _text(_str(card, "name", where), TITLE_MAX, "Untitled card"),
            "description": _text(_str(card, "desc", where), DESCRIPTION_MAX),
            "column": column_id,
            "position": position,
            "due_date": _moment(card, "due", where),
            "labels": labels,
            "assignees": assignees,
            "checklist": [],
            "comments": [],
        }
        self.updated[card_id] = _when(card, "dateLastActivity", where)
        self.cards[card_id] = task
        return task

    def _actions(self) -> None:
        """Comments and who made each card, from the board's actions (newest first)."""
        comments: list[tuple[datetime, int, Obj, Obj]] = []
        for i, action in _objects(self.board, "actions"):
            kind = action.get("type")
            if kind not in _COMMENT_ACTIONS and kind not in _CREATING_ACTIONS:
                continue
            where = f"actions[{i}]"
            data = action.get("data")
            if not isinstance(data, dict):
                raise _wrong(f"{where}.data", "an object")
            card = data.get("card")
            card_id = card.get("id") if isinstance(card, dict) else None
            task = self.cards.get(card_id) if isinstance(card_id, str) else None
            if task is None:
                continue
            date = _when(action, "date", where)
            author = self._person(action.get("idMemberCreator"), action.get("memberCreator"), where)
            if kind in _CREATING_ACTIONS:
                if date is not None and (kind == "createCard" or task["id"] not in self.created):
                    self.created[task["id"]] = (date, author)
                continue
            body = _text(_str(data, "text", f"{where}.data"), COMMENT_MAX)
            if not body:
                continue
            comment = {"author": author, "body": body}
            _put(comment, "created_at", None if date is None else _iso(date))
            comment["edited_at"] = _moment(data, "dateLastEdited", f"{where}.data")
            comments.append((date or _EARLIEST, -i, task, comment))
        # Oldest first; of one moment, in the reverse of the file's (newest first) order.
        comments.sort(key=lambda c: (c[0], c[1]))
        for _, _, task, comment in comments:
            task["comments"].append(comment)

    def _checklists(self) -> None:
        """Each card's checklists as one list: by checklist, then item; named when several."""
        per_card: dict[str, list[tuple[int, Obj]]] = {}
        for i, checklist in _objects(self.board, "checklists"):
            card_id = _str(checklist, "idCard", f"checklists[{i}]")
            if card_id in self.cards:
                per_card.setdefault(card_id, []).append((i, checklist))
        for card_id, checklists in per_card.items():
            named = [_checklist(i, c) for i, c in _order(checklists, "checklists")]
            named = [(name, items) for name, items in named if items]
            out = self.cards[card_id]["checklist"]
            for name, items in named:
                for item in items:
                    if len(named) > 1:
                        item["text"] = _shorten(f"{name}: {item['text']}", CHECKLIST_TEXT_MAX)
                    out.append(item)

    def _finish(self, task: Obj) -> None:
        """Who made the card and when: its creating action, else the time in its id."""
        created = self.created.get(task["id"])
        created_at = created[0] if created else _id_when(task["id"])
        if created and created[1]["email"]:
            task["created_by"] = created[1]
        updated_at = self.updated.pop(task["id"], None)
        if created_at is not None:
            task["created_at"] = _iso(created_at)
            if updated_at is None or updated_at < created_at:
                updated_at = created_at
        if updated_at is not None:
            task["updated_at"] = _iso(updated_at)


def _checklist(i: int, checklist: Obj) -> tuple[str, list[Obj]]:
    where = f"checklists[{i}]"
    name = _text(_str(checklist, "name", where), CHECKLIST_TEXT_MAX, "Checklist")
    items = []
    for j, item in _order(_objects(checklist, "checkItems", where), f"{where}.checkItems"):
        at = f"{where}.checkItems[{j}]"
        text = _text(_str(item, "name", at), CHECKLIST_TEXT_MAX)
        if text:
            items.append({"text": text, "done": _str(item, "state", at) == "complete"})
    return name, items


def _person_name(obj: Obj, where: str, *, fallback: str = UNKNOWN_PERSON) -> str:
    full = _text(_str(obj, "fullName", where), NAME_MAX)
    return full or _text(_str(obj, "username", where), NAME_MAX) or fallback


def _unseen(value: str, seen: set[str], where: str) -> str:
    if value in seen:
        raise Invalid(
            f"This Trello export is not valid: {_at(where, 'id')} repeats an earlier id.",
            field="file",
        )
    seen.add(value)
    return value


def _put(obj: Obj, key: str, value: Any) -> None:
    if value is not None:
        obj[key] = value
