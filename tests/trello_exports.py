"""Trello board exports as "Export as JSON" gives them, built to order for tests.

The shape follows Trello's: 24-hex ids that start with their creation time, boards with
`prefs` and `labelNames`, cards with `badges`, `limits`, `cover` and their labels inline,
checklists and actions (newest first, each with its `memberCreator`) at the board's top
level. Everything is derived from `seed`, so a given call always builds the same export.

    board = build_export(lists=3, cards_per_list=10, comments_per_card=2)
    data = export_bytes(board)
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

START = datetime(2023, 3, 1, 9, 0, tzinfo=UTC)
LIST_NAMES = ("To Do", "Doing", "Done", "Backlog", "Review", "Ideas", "Testing", "Shipped")
UNICODE_LIST_NAMES = ("📥 Входящие", "قيد التنفيذ", "完了", "Backlog 🚀", "עבודה", "작업")
UNICODE_WORDS = (
    "🚀",
    "café",
    "naïve",
    "日本語のカード",
    "مرحبا بالعالم",
    "שלום",
    "한국어",
    "👩‍💻",
    "Ωμέγα",
)
WORDS = (
    "update", "landing", "page", "fix", "login", "bug", "write", "docs", "review", "design",
    "invoice", "client", "deploy", "server", "plan", "sprint", "call", "vendor", "draft",
)  # fmt: skip
# Trello's label colours; `None` is a label without a colour.
COLORS = ("green", "yellow", "orange", "red", "purple", "blue", "sky", "lime", "pink", "black")
VARIANT_COLORS = ("green_dark", "red_light", "sky_dark", "black_light")
LABEL_NAMES = ("Bug", "Feature", "Urgent", "Design", "Backend", "Frontend", "Blocked", "Ops")
MEMBER_NAMES = ("Ann Archer", "Bob Baker", "Chloé Dupont", "Dmitri Иванов", "Emi 佐藤", "Farid")


def trello_id(when: datetime, rng: random.Random) -> str:
    """A Trello object id: 8 hex digits of Unix time, then 16 of counter and machine."""
    return f"{int(when.timestamp()):08x}{rng.getrandbits(64):016x}"


def stamp(when: datetime) -> str:
    """A date as Trello writes it: `2023-03-01T09:00:00.000Z`."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def export_bytes(board: dict[str, Any], *, indent: int | None = None) -> bytes:
    """The export as Trello's download writes it (UTF-8, non-ASCII kept as is)."""
    return json.dumps(board, ensure_ascii=False, indent=indent).encode()


def minimal_export() -> dict[str, Any]:
    """The least a board export carries: a board with one list holding one card."""
    return {
        "id": "5f0c1a2b3c4d5e6f70819203",
        "name": "Minimal",
        "lists": [{"id": "5f0c1a2b3c4d5e6f70819204", "name": "To Do"}],
        "cards": [
            {
                "id": "5f0c1a2b3c4d5e6f70819205",
                "name": "First",
                "idList": "5f0c1a2b3c4d5e6f70819204",
            }
        ],
    }


def build_export(
    lists: int = 3,
    cards_per_list: int = 10,
    *,
    archived_lists: int = 0,
    closed_per_list: int = 0,
    members: int = 3,
    member_emails: int = 0,
    labels: int = 6,
    empty_label_names: int = 0,
    null_color_labels: int = 0,
    checklists_per_card: int = 0,
    items_per_checklist: int = 3,
    comments_per_card: int = 0,
    attachments_per_card: int = 0,
    description_chars: int = 60,
    unicode: bool = False,
    sparse: bool = False,
    shuffle: bool = True,
    list_names: tuple[str, ...] | None = None,
    board_name: str = "Website relaunch",
    seed: int = 1,
    start: datetime = START,
) -> dict[str, Any]:
    """A board export: `lists` open lists and `archived_lists` archived ones, each with
    `cards_per_list` cards of which the last `closed_per_list` are archived. Descriptions
    are up to twice `description_chars` long, every fourth card's empty.

    `member_emails` members (of `members`) carry an "email", which real exports leave
    out. `empty_label_names` labels have no name and `null_color_labels` no colour.
    `unicode` puts emoji, right-to-left and CJK text in names, descriptions and comments.
    `sparse` leaves out the optional keys (desc, pos, due, dates, label and member ids).
    `shuffle` mixes the order of lists, cards and checklists in the arrays, so only `pos`
    tells their order, as in real exports.
    """
    b = _Builder(seed, start, unicode, description_chars)
    board = b.board(board_name)
    people = [b.member(i, with_email=i < member_emails) for i in range(members)]
    board["members"] = people
    board["memberships"] = [b.membership(p, admin=i == 0) for i, p in enumerate(people)]
    board["labels"] = [
        b.label(i, empty=i < empty_label_names, null_color=i >= labels - null_color_labels)
        for i in range(labels)
    ]
    names = list_names or (UNICODE_LIST_NAMES if unicode else LIST_NAMES)
    for i in range(lists + archived_lists):
        name = names[i % len(names)] + (f" {i // len(names) + 1}" if i >= len(names) else "")
        trello_list = b.list(name, i, closed=i >= lists)
        board["lists"].append(trello_list)
        for k in range(cards_per_list):
            card = b.card(trello_list, k, closed=k >= cards_per_list - closed_per_list)
            card["labels"] = b.pick_labels(board["labels"], card)
            card["idMembers"] = [p["id"] for p in b.pick(people, 2)] if people else []
            card["attachments"] = [b.attachment(card, people) for _ in range(attachments_per_card)]
            board["cards"].append(card)
            board["actions"].append(b.action("createCard", card, trello_list, people))
            for c in range(comments_per_card):
                board["actions"].append(b.comment(card, trello_list, people, c))
            for c in range(checklists_per_card):
                board["checklists"].append(b.checklist(card, c, items_per_checklist))
    if sparse:
        _strip_optional(board)
    board["actions"].sort(key=lambda a: a["date"], reverse=True)
    if shuffle:
        for key in ("lists", "cards", "checklists"):
            b.rng.shuffle(board[key])
    return board


def sized_export(target_bytes: int, **kwargs: Any) -> dict[str, Any]:
    """An export of about `target_bytes` (±10 %) when serialised, grown in cards."""
    lists = kwargs.pop("lists", 8)
    probe = build_export(lists=lists, cards_per_list=20, **kwargs)
    per_card = len(export_bytes(probe)) / (lists * 20)
    cards_per_list = max(1, round(target_bytes / per_card / lists))
    return build_export(lists=lists, cards_per_list=cards_per_list, **kwargs)


def _strip_optional(board: dict[str, Any]) -> None:
    for key in ("desc", "dateLastActivity", "prefs", "labelNames", "memberships", "url"):
        board.pop(key, None)
    for trello_list in board["lists"]:
        for key in ("pos", "subscribed", "softLimit", "limits"):
            trello_list.pop(key, None)
        if not trello_list["closed"]:
            del trello_list["closed"]
    for card in board["cards"]:
        for key in ("desc", "pos", "due", "idLabels", "idMembers", "dateLastActivity", "badges"):
            card.pop(key, None)
        if not card.get("closed"):
            card.pop("closed", None)
    for label in board["labels"]:
        label.pop("uses", None)
    for checklist in board["checklists"]:
        checklist.pop("pos", None)
        for item in checklist["checkItems"]:
            item.pop("pos", None)


class _Builder:
    def __init__(self, seed: int, start: datetime, unicode: bool, desc_chars: int) -> None:
        self.rng = random.Random(seed)
        self.desc_chars = desc_chars
        self.clock = start
        self.unicode = unicode
        self.board_id = ""
        self.board_short = ""

    def tick(self, minutes: int = 7) -> datetime:
        self.clock += timedelta(minutes=self.rng.randint(1, minutes), seconds=self.rng.random())
        return self.clock

    def new_id(self) -> str:
        return trello_id(self.tick(), self.rng)

    def short_link(self) -> str:
        alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        return "".join(self.rng.choice(alphabet) for _ in range(8))

    def words(self, n: int) -> str:
        pool = WORDS + UNICODE_WORDS if self.unicode else WORDS
        return " ".join(self.rng.choice(pool) for _ in range(n))

    def text(self, chars: int) -> str:
        out = ""
        while len(out) < chars:
            out += self.words(8).capitalize() + ". "
        return out[:chars].rstrip()

    def pick(self, items: list[Any], most: int) -> list[Any]:
        return self.rng.sample(items, self.rng.randint(0, min(most, len(items))))

    def board(self, name: str) -> dict[str, Any]:
        self.board_id = self.new_id()
        self.board_short = self.short_link()
        slug = name.lower().replace(" ", "-")
        return {
            "id": self.board_id,
            "name": name + (" 🚀" if self.unicode else ""),
            "desc": "Everything for the relaunch." + (" مرحبا 日本" if self.unicode else ""),
            "descData": None,
            "closed": False,
            "dateClosed": None,
            "idOrganization": self.new_id(),
            "idEnterprise": None,
            "pinned": False,
            "starred": False,
            "url": f"https://trello.com/b/{self.board_short}/{slug}",
            "shortUrl": f"https://trello.com/b/{self.board_short}",
            "shortLink": self.board_short,
            "prefs": {
                "permissionLevel": "private",
                "hideVotes": False,
                "voting": "disabled",
                "comments": "members",
                "invitations": "members",
                "selfJoin": True,
                "cardCovers": True,
                "isTemplate": False,
                "cardAging": "regular",
                "calendarFeedEnabled": False,
                "background": "blue",
                "backgroundImage": None,
                "backgroundTile": False,
                "backgroundBrightness": "dark",
                "backgroundColor": "#0079BF",
                "canBePublic": True,
                "canBeOrg": True,
                "canBePrivate": True,
            },
            "labelNames": {c: "" for c in COLORS + VARIANT_COLORS},
            "subscribed": False,
            "powerUps": [],
            "dateLastActivity": stamp(self.clock + timedelta(days=30)),
            "dateLastView": stamp(self.clock + timedelta(days=31)),
            "idTags": [],
            "datePluginDisable": None,
            "creationMethod": None,
            "ixUpdate": "1042",
            "templateGallery": None,
            "enterpriseOwned": False,
            "idBoardSource": None,
            "premiumFeatures": ["additionalBoardBackgrounds", "customEmoji"],
            "idMemberCreator": None,
            "actions": [],
            "cards": [],
            "labels": [],
            "lists": [],
            "members": [],
            "checklists": [],
            "customFields": [],
            "memberships": [],
            "pluginData": [],
        }

    def member(self, i: int, *, with_email: bool) -> dict[str, Any]:
        full = MEMBER_NAMES[i % len(MEMBER_NAMES)] + (f" {i}" if i >= len(MEMBER_NAMES) else "")
        username = f"{full.split()[0].lower()}{i}"
        member = {
            "id": self.new_id(),
            "activityBlocked": False,
            "avatarHash": f"{self.rng.getrandbits(128):032x}",
            "avatarUrl": f"https://trello-members.s3.amazonaws.com/{i}/avatar",
            "bio": "",
            "bioData": None,
            "confirmed": True,
            "fullName": full,
            "idEnterprise": None,
            "idEnterprisesDeactivated": [],
            "idMemberReferrer": None,
            "idPremOrgsAdmin": [],
            "initials": "".join(w[0] for w in full.split()[:2]).upper(),
            "memberType": "normal",
            "nonPublic": {},
            "nonPublicAvailable": True,
            "products": [],
            "url": f"https://trello.com/{username}",
            "username": username,
            "status": "disconnected",
        }
        if with_email:
            member["email"] = f"{username}@example.com"
        return member

    def membership(self, member: dict[str, Any], *, admin: bool) -> dict[str, Any]:
        return {
            "id": self.new_id(),
            "idMember": member["id"],
            "memberType": "admin" if admin else "normal",
            "unconfirmed": False,
            "deactivated": False,
        }

    def label(self, i: int, *, empty: bool, null_color: bool) -> dict[str, Any]:
        color = None if null_color else (COLORS + VARIANT_COLORS)[i % 14]
        name = "" if empty else LABEL_NAMES[i % len(LABEL_NAMES)]
        if name and i >= len(LABEL_NAMES):
            name += f" {i}"
        if name and self.unicode and i % 3 == 0:
            name += " 🔥"
        return {
            "id": self.new_id(),
            "idBoard": self.board_id,
            "name": name,
            "color": color,
            "uses": self.rng.randint(0, 40),
        }

    def list(self, name: str, i: int, *, closed: bool) -> dict[str, Any]:
        return {
            "id": self.new_id(),
            "name": name,
            "closed": closed,
            "color": None,
            "idBoard": self.board_id,
            "pos": 16384 * (i + 1) + (0.5 if i % 3 == 2 else 0),
            "subscribed": False,
            "softLimit": None,
            "creationMethod": None,
            "limits": {
                "cards": {"openPerList": {"status": "ok", "disableAt": 5000, "warnAt": 4000}}
            },
        }

    def card(self, trello_list: dict[str, Any], k: int, *, closed: bool) -> dict[str, Any]:
        card_id = self.new_id()
        short = self.short_link()
        name = self.words(self.rng.randint(2, 6)).capitalize()
        due = self.clock + timedelta(days=self.rng.randint(1, 60)) if k % 3 == 0 else None
        return {
            "id": card_id,
            "address": None,
            "badges": {
                "attachmentsByType": {"trello": {"board": 0, "card": 0}},
                "location": False,
                "votes": 0,
                "viewingMemberVoted": False,
                "subscribed": False,
                "fogbugz": "",
                "checkItems": 0,
                "checkItemsChecked": 0,
                "checkItemsEarliestDue": None,
                "comments": 0,
                "attachments": 0,
                "description": True,
                "due": stamp(due) if due else None,
                "dueComplete": False,
                "start": None,
            },
            "checkItemStates": [],
            "closed": closed,
            "coordinates": None,
            "creationMethod": None,
            "dueComplete": False,
            "dateLastActivity": stamp(self.clock + timedelta(hours=self.rng.randint(1, 400))),
            "desc": self.text(self.rng.randint(0, 2 * self.desc_chars)) if k % 4 else "",
            "descData": {"emoji": {}},
            "due": stamp(due) if due else None,
            "dueReminder": None,
            "email": None,
            "idBoard": self.board_id,
            "idChecklists": [],
            "idLabels": [],
            "idList": trello_list["id"],
            "idMembers": [],
            "idMembersVoted": [],
            "idShort": k + 1,
            "idAttachmentCover": None,
            "labels": [],
            "limits": {
                "attachments": {"perCard": {"status": "ok", "disableAt": 1000, "warnAt": 800}}
            },
            "locationName": None,
            "manualCoverAttachment": False,
            "name": name,
            "pos": 16384 * (k + 1) + (0.25 if k % 5 == 4 else 0),
            "shortLink": short,
            "shortUrl": f"https://trello.com/c/{short}",
            "start": None,
            "subscribed": False,
            "url": f"https://trello.com/c/{short}/{k + 1}-card",
            "cover": {"idAttachment": None, "color": None, "size": "normal", "brightness": "dark"},
            "isTemplate": False,
            "cardRole": None,
            "attachments": [],
            "pluginData": [],
            "customFieldItems": [],
        }

    def pick_labels(self, labels: list[dict[str, Any]], card: dict[str, Any]) -> list[Any]:
        chosen = self.pick(labels, 3)
        card["idLabels"] = [label["id"] for label in chosen]
        return [{k: label[k] for k in ("id", "idBoard", "name", "color")} for label in chosen]

    def attachment(self, card: dict[str, Any], people: list[dict[str, Any]]) -> dict[str, Any]:
        attachment_id = self.new_id()
        return {
            "id": attachment_id,
            "bytes": self.rng.randint(1000, 900_000),
            "date": stamp(self.clock),
            "edgeColor": None,
            "idMember": people[0]["id"] if people else None,
            "isUpload": True,
            "mimeType": "image/png",
            "name": "screenshot.png",
            "previews": [],
            "url": f"https://trello.com/1/cards/{card['id']}/attachments/{attachment_id}/download/screenshot.png",
            "pos": 16384,
            "fileName": "screenshot.png",
        }

    def creator(self, people: list[dict[str, Any]]) -> tuple[str | None, dict[str, Any] | None]:
        if not people:
            return None, None
        person = self.rng.choice(people)
        return person["id"], {
            "id": person["id"],
            "activityBlocked": False,
            "avatarHash": person["avatarHash"],
            "avatarUrl": person["avatarUrl"],
            "fullName": person["fullName"],
            "idMemberReferrer": None,
            "initials": person["initials"],
            "nonPublic": {},
            "nonPublicAvailable": True,
            "username": person["username"],
        }

    def action(
        self, kind: str, card: dict[str, Any], trello_list: dict[str, Any], people: list[Any]
    ) -> dict[str, Any]:
        member_id, creator = self.creator(people)
        return {
            "id": self.new_id(),
            "idMemberCreator": member_id,
            "data": {
                "card": {
                    "id": card["id"],
                    "name": card["name"],
                    "idShort": card["idShort"],
                    "shortLink": card["shortLink"],
                },
                "list": {"id": trello_list["id"], "name": trello_list["name"]},
                "board": {"id": self.board_id, "name": "Board", "shortLink": self.board_short},
            },
            "appCreator": None,
            "type": kind,
            "date": stamp(self.clock),
            "limits": {},
            "memberCreator": creator,
        }

    def comment(
        self, card: dict[str, Any], trello_list: dict[str, Any], people: list[Any], n: int
    ) -> dict[str, Any]:
        self.tick(90)
        action = self.action("commentCard", card, trello_list, people)
        text = f"Comment {n + 1}: " + self.text(self.rng.randint(10, 120))
        action["data"]["text"] = text
        action["data"]["textData"] = {"emoji": {}}
        if n % 4 == 3:
            action["data"]["dateLastEdited"] = stamp(self.clock + timedelta(minutes=5))
        action["limits"] = {
            "reactions": {
                "perAction": {"status": "ok", "disableAt": 900, "warnAt": 720},
                "uniquePerAction": {"status": "ok", "disableAt": 17, "warnAt": 14},
            }
        }
        return action

    def checklist(self, card: dict[str, Any], n: int, items: int) -> dict[str, Any]:
        checklist_id = self.new_id()
        card["idChecklists"].append(checklist_id)
        return {
            "id": checklist_id,
            "name": "Checklist" if n == 0 else f"Steps {n + 1}",
            "idBoard": self.board_id,
            "idCard": card["id"],
            "pos": 16384 * (n + 1),
            "limits": {
                "checkItems": {"perChecklist": {"status": "ok", "disableAt": 200, "warnAt": 160}}
            },
            "checkItems": [
                {
                    "id": self.new_id(),
                    "name": self.words(self.rng.randint(1, 5)).capitalize(),
                    "nameData": {"emoji": {}},
                    "pos": 16384 * (j + 1),
                    "state": "complete" if j % 2 else "incomplete",
                    "due": None,
                    "dueReminder": None,
                    "idMember": None,
                    "idChecklist": checklist_id,
                }
                for j in range(items)
            ],
        }
