"""A card's HTML, rendered once for what it shows and kept for the next page that shows it.

A board page renders a window of 50 cards a column, and Jinja's cost per card (a macro
call, a few dozen attribute lookups, escaping, filters) was the largest part of the
page's time; yet between two loads of a board almost every card is the same. `Cards`
keeps each card's fragment under a key made of everything the card macro
(`templates/board/_card.html`) can show:

- every field of the `Card` as read (the list fields as tuples), so a change of any of
  them, a label's or an assignee's new name included, makes a new key;
- its comment count;
- what the clock decides: overdue, due soon, this year (a due date in another year
  shows its year), and the viewer's time zone;
- the macro itself, which a template reload (debug mode) replaces.

A fragment is shared by every viewer of the card: the macro shows no viewer's own data
and no form token. Cards with a description longer than `LONG_DESCRIPTION` are rendered
each time rather than kept, so the keys stay small; the cache holds at most `ENTRIES`
fragments per process, dropping the oldest first.
"""

from __future__ import annotations

import dataclasses
import threading
from operator import attrgetter
from typing import Any

from flask import current_app
from markupsafe import Markup

from ..models import utcnow
from ..services.cards import Card, is_due_soon, is_overdue
from .clock import viewer_zone

ENTRIES = 5000
LONG_DESCRIPTION = 2000
_LISTS = ("assignees", "labels")  # kept as tuples in the key
_fields = attrgetter(*(f.name for f in dataclasses.fields(Card) if f.name not in _LISTS))
_cache: dict[tuple[Any, ...], Markup] = {}
_lock = threading.Lock()


class Cards:
    """Renders a page's cards: `cards = card_renderer()` once in a template, then
    `cards(task, comment_counts)` for each card. What is the same for every card of the
    page (the macro, the moment, the viewer's zone and year) is looked up once."""

    __slots__ = ("macro", "now", "page")

    def __init__(self) -> None:
        self.macro = current_app.jinja_env.get_template("board/_card.html").module.card  # type: ignore[attr-defined]
        self.now = utcnow()
        zone = viewer_zone()
        self.page = (self.macro, zone, self.now.astimezone(zone).year)

    def key(self, card: Card, comments: int) -> tuple[Any, ...]:
        now = self.now
        return (
            self.page,
            is_overdue(card, now),
            is_due_soon(card, now),
            _fields(card),
            tuple(card.assignees),
            tuple(card.labels),
            comments,
        )

    def __call__(self, task: Card, comment_counts: dict[Any, int]) -> Markup:
        """The card's `<li>`, from the cache when it shows the same as when it was kept."""
        comments = comment_counts.get(task.id, 0)
        if len(task.description) > LONG_DESCRIPTION:
            return Markup(self.macro(task, comments))
        key = self.key(task, comments)
        html = _cache.get(key)
        if html is None:
            html = Markup(self.macro(task, comments))
            with _lock:
                _cache[key] = html
                while len(_cache) > ENTRIES:
                    del _cache[next(iter(_cache))]
        return html


def clear() -> None:
    """Forget every kept fragment (tests; a benchmark of the first load)."""
    with _lock:
        _cache.clear()
