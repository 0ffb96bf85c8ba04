// The board: drag and drop (SortableJS), live polling with ETags, the card detail panel,
// and keeping the keyboard focus where the person was working.
(function () {
  "use strict";

  var dragging = false;      // a card is being dragged
  var pressing = false;      // a pointer is down on a card: a drag may be starting
  var pendingFocus = null;   // id of the element to focus after the board is re-rendered
  var openedCard = null;     // id of the card whose detail is open
  var detailChanged = false; // an update changed the card open in the detail
  var refocusDetail = "";    // id of the detail's element to focus after its refresh

  function board() { return document.getElementById("board"); }
  function detail() { return document.getElementById("detail"); }
  function layout() { return document.querySelector(".board-layout"); }

  var ANIMATED_UP_TO = 30;   // cards in a column; longer ones move without animation
  function animationFor(list) {
    return list.childElementCount > ANIMATED_UP_TO ? 0 : 150;
  }

  function initSortables() {
    if (!window.Sortable) return;
    document.querySelectorAll("ul.cards").forEach(function (list) {
      if (window.Sortable.get(list)) return;
      window.Sortable.create(list, {
        group: "cards",
        animation: animationFor(list),
        forceFallback: true,          // mouse and touch events: works the same everywhere
        fallbackTolerance: 4,         // a click stays a click
        delay: 150,
        delayOnTouchOnly: true,       // let touch screens scroll
        draggable: "li.card",
        filter: "button, input, select, textarea, a.move-open",
        preventOnFilter: false,
        ghostClass: "card-ghost",
        chosenClass: "card-chosen",
        dragClass: "card-drag",
        onChoose: function () {
          // Sortable animates every sibling that shifts on each drag-over: smooth on a
          // short column, a frozen page on one of hundreds of cards. Decided per column,
          // as it is now (a column grows as "Show more" loads).
          document.querySelectorAll("ul.cards").forEach(function (other) {
            var sortable = window.Sortable.get(other);
            if (sortable) sortable.option("animation", animationFor(other));
          });
        },
        onStart: function () { dragging = true; document.body.classList.add("is-dragging"); },
        onEnd: function (evt) {
          dragging = false;
          document.body.classList.remove("is-dragging");
          if (evt.from === evt.to && evt.oldIndex === evt.newIndex) return;
          sendMove(evt.item, evt.to);
        }
      });
    });
  }

  // Persist a drop: the new column and the card now after it, in the order shown.
  function sendMove(item, list) {
    var next = item.nextElementSibling;
    while (next && !next.matches("li.card")) next = next.nextElementSibling;
    var id = cardId(item);
    pendingFocus = "card-link-" + id;
    var values = { column: list.dataset.column, before: next ? cardId(next) : "" };
    if (!next && list.parentElement.querySelector("a.show-more")) {
      // Below the last card shown of a partly shown column: right after that card.
      var prev = item.previousElementSibling;
      while (prev && !prev.matches("li.card")) prev = prev.previousElementSibling;
      if (prev) values.after = cardId(prev);
    }
    postMove(item, values);
  }

  function cardId(li) { return li.id.slice(5); }   // "card-<uuid>"

  function filterValues() {
    var form = document.getElementById("filters");
    var values = {};
    if (!form) return values;
    new FormData(form).forEach(function (value, key) { if (value) values[key] = value; });
    return values;
  }

  function postMove(card, values) {
    var all = filterValues();
    Object.keys(values).forEach(function (key) { all[key] = values[key]; });
    window.htmx.ajax("POST", "/tasks/" + cardId(card) + "/move", {
      source: card,
      target: "#board",
      swap: "innerMorph",
      values: all
    });
  }

  // What each column shows — how many cards, and the last one's id, or "*" when it shows
  // them all — sent with every request: answers keep the columns as long as "Show more"
  // made them, and an update knows where a changed card goes back.
  function shownHeader() {
    var parts = [];
    document.querySelectorAll("ul.cards[data-column]").forEach(function (list) {
      var cards = list.querySelectorAll(":scope > li.card");
      var whole = !list.parentElement.querySelector("a.show-more");
      var last = cards.length ? cardId(cards[cards.length - 1]) : "";
      parts.push(list.dataset.column + ":" + cards.length + ":" + (whole ? "*" : last));
    });
    return parts.join(",");
  }

  // "Show more": the next cards of a column, at the end of its list; by itself too, as
  // the link scrolls into view.
  function showMore(link) {
    if (link.dataset.loading) return;
    link.dataset.loading = "1";
    var section = link.closest(".dropzone");
    var list = section && section.querySelector("ul.cards");
    if (!list) return;
    var values = filterValues();
    values.offset = String(list.querySelectorAll(":scope > li.card").length);
    window.htmx.ajax("GET", link.dataset.cards, {
      source: link,
      target: list,
      swap: "beforeend",
      values: values
    });
  }

  // Only where columns stand side by side: stacked (on a phone), loading a column's next
  // cards as its end comes into view would push the columns below it out of reach, so
  // there "Show more" waits to be tapped. And only a link coming up from below.
  function sideBySide() {
    var grid = board() && window.getComputedStyle(board()).gridAutoFlow;
    return !grid || grid.indexOf("column") === 0;
  }
  var watcher = window.IntersectionObserver ? new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting && entry.boundingClientRect.top >= 0 && !holding() &&
          sideBySide()) {
        showMore(entry.target);
      }
    });
  }, { rootMargin: "0px 0px 200px 0px" }) : null;

  function watchMore() {
    if (!watcher) return;
    watcher.disconnect();
    document.querySelectorAll("a.show-more").forEach(function (link) { watcher.observe(link); });
  }

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey ||
        event.shiftKey || event.altKey) return;
    var target = event.target.closest && event.target.closest("a.show-more, a.card-title, a.move-open");
    if (!target || !board() || !board().contains(target)) return;
    event.preventDefault();
    if (target.matches("a.show-more")) {
      showMore(target);
    } else if (target.matches("a.card-title")) {
      openedCard = cardId(target.closest("li.card"));
      window.htmx.ajax("GET", target.getAttribute("href"), {
        source: target, target: "#detail", swap: "innerHTML"
      });
    } else {
      openMenu(target);
    }
  });

  // The move menu: one for the board, opened from a card's "Move".
  var MOVES = [
    ["top", "Move to top"], ["up", "Move up"], ["down", "Move down"],
    ["bottom", "Move to bottom"], ["left", "Move left"], ["right", "Move right"]
  ];
  var menu = null;
  var menuOpener = null;

  function buildMenu() {
    menu = document.createElement("div");
    menu.id = "move-menu";
    menu.className = "move-menu";
    menu.setAttribute("role", "menu");
    menu.hidden = true;
    MOVES.forEach(function (move) {
      var item = document.createElement("button");
      item.type = "button";
      item.setAttribute("role", "menuitem");
      item.dataset.direction = move[0];
      item.textContent = move[1];
      menu.appendChild(item);
    });
    menu.addEventListener("click", function (event) {
      var item = event.target.closest("button[data-direction]");
      if (!item || !menuOpener) return;
      var card = menuOpener.closest("li.card");
      var direction = item.dataset.direction;
      closeMenu(false);
      pendingFocus = "move-open:" + cardId(card);
      postMove(card, { direction: direction });
    });
    menu.addEventListener("keydown", function (event) {
      var items = Array.prototype.filter.call(menu.querySelectorAll("button"), function (b) {
        return !b.hidden;
      });
      var at = items.indexOf(document.activeElement);
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        var step = event.key === "ArrowDown" ? 1 : -1;
        items[(at + step + items.length) % items.length].focus();
      } else if (event.key === "Home" || event.key === "End") {
        event.preventDefault();
        items[event.key === "Home" ? 0 : items.length - 1].focus();
      } else if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        closeMenu(true);
      } else if (event.key === "Tab") {
        closeMenu(false);
      }
    });
    document.body.appendChild(menu);
  }

  function openMenu(opener) {
    if (!menu) buildMenu();
    if (menuOpener === opener && !menu.hidden) { closeMenu(true); return; }
    closeMenu(false);
    var card = opener.closest("li.card");
    var list = card.parentElement;
    var cards = list.querySelectorAll(":scope > li.card");
    var first = cards[0] === card;
    var last = cards[cards.length - 1] === card &&
      !list.parentElement.querySelector("a.show-more");
    var index = Number(list.dataset.index || 0);
    var columnCount = document.querySelectorAll("ul.cards[data-column]").length;
    var available = {
      top: !first, up: !first, down: !last, bottom: !last,
      left: index > 0, right: index < columnCount - 1
    };
    menu.querySelectorAll("button").forEach(function (item) {
      item.hidden = !available[item.dataset.direction];
    });
    menu.setAttribute("aria-label", "Move “" + card.querySelector(".card-title").textContent + "”");
    var box = opener.getBoundingClientRect();
    menu.hidden = false;
    var width = menu.offsetWidth;
    var left = Math.min(box.right - width, document.documentElement.clientWidth - width - 8);
    menu.style.left = Math.max(8, left) + window.scrollX + "px";
    menu.style.top = box.bottom + window.scrollY + 4 + "px";
    menuOpener = opener;
    opener.setAttribute("aria-expanded", "true");
    var firstItem = menu.querySelector("button:not([hidden])");
    if (firstItem) firstItem.focus();
  }

  function closeMenu(refocus) {
    if (!menu || menu.hidden) return;
    menu.hidden = true;
    if (menuOpener) {
      menuOpener.setAttribute("aria-expanded", "false");
      if (refocus) menuOpener.focus();
    }
    menuOpener = null;
  }

  document.addEventListener("pointerdown", function (event) {
    if (menu && !menu.hidden && !menu.contains(event.target) &&
        !(menuOpener && menuOpener.contains(event.target))) closeMenu(false);
  });

  function closeDetail() {
    var panel = detail();
    if (!panel) return;
    panel.replaceChildren();
    layout().classList.remove("has-detail");
    var link = openedCard && document.getElementById("card-link-" + openedCard);
    if (link) link.focus();
  }

  // Re-rendering the board under a card in the hand would pull it from under the pointer.
  function holding() { return dragging || pressing; }
  document.addEventListener("pointerdown", function (event) {
    if (event.target.closest && event.target.closest("ul.cards > li")) pressing = true;
  }, true);
  ["pointerup", "pointercancel"].forEach(function (name) {
    document.addEventListener(name, function () { pressing = false; }, true);
  });

  document.addEventListener("htmx:before:swap", function (event) {
    var ctx = event.detail.ctx;
    if (ctx.target === board() && holding()) {
      event.preventDefault();
      board().dataset.etag = "";   // not shown, so the next poll fetches it again
    }
  });

  document.addEventListener("htmx:config:request", function (event) {
    var ctx = event.detail.ctx;
    var source = ctx.sourceElement;
    if (board()) {
      ctx.request.headers["X-Board-Shown"] = shownHeader();
      if (board().dataset.etag) ctx.request.headers["X-Board-Version"] = board().dataset.etag;
    }
    if (source === board() && ctx.request.method === "GET") {
      // A poll: skip it mid-drag or in a background tab; otherwise ask "changed since?".
      if (holding() || document.hidden) { event.preventDefault(); return; }
      var etag = board().dataset.etag;
      if (etag) ctx.request.headers["If-None-Match"] = "\"" + etag + "\"";
    }
  });

  document.addEventListener("htmx:after:request", function (event) {
    var ctx = event.detail.ctx;
    var response = ctx.response;
    if (!response) return;
    if (ctx.target === board() && response.status === 200) {
      var etag = response.headers.get("ETag");
      if (etag) board().dataset.etag = etag.replace(/^W\//, "").replace(/"/g, "");
      var changed = response.headers.get("X-Board-Cards");
      if (changed && openedCard && changed.split(",").indexOf(openedCard) !== -1) {
        detailChanged = true;
      }
    }
    var source = ctx.sourceElement;
    if (source.id === "add-task" && response.status === 200) {
      // Ready for the next card: an empty field with the focus in it.
      source.reset();
      pendingFocus = "add-task-title";
    }
  });

  // After every board update — the columns swapped whole, or only changed cards out of
  // band (no main swap then) — wire up new lists and put the focus back.
  function afterBoardUpdate() {
    initSortables();
    watchMore();
    if (pendingFocus) {
      var target;
      if (pendingFocus.indexOf("move-open:") === 0) {
        var id = pendingFocus.slice(10);
        target = document.querySelector("#card-" + CSS.escape(id) + " a.move-open");
      } else {
        target = document.getElementById(pendingFocus);
      }
      // The card went past the part of its column shown: the board's heading, not the body.
      (target || document.getElementById("board-title")).focus();
      pendingFocus = null;
    }
    if (detailChanged) {
      detailChanged = false;
      refreshDetail();
    }
  }

  // Someone else changed the card open in the detail: show it, unless the person is
  // typing there (then say so; saving would be refused anyway, with their typing kept).
  function refreshDetail() {
    var panel = detail();
    var inner = panel && panel.querySelector(".detail-inner");
    if (!inner || !openedCard) return;
    // The detail already shows this board version (the person's own save): nothing new.
    var now = parseInt((board().dataset.etag || "").slice(1), 10);
    if (!(now > parseInt(inner.dataset.board || "0", 10))) return;
    if (panel.dataset.dirty) {
      window.Taskboard.showNotice("Someone else changed this card. Save to see it (your changes are kept).");
      return;
    }
    var focused = document.activeElement && panel.contains(document.activeElement)
      ? document.activeElement.id : "";
    refocusDetail = focused;
    window.htmx.ajax("GET", "/tasks/" + openedCard, { source: panel, target: "#detail", swap: "innerHTML" });
  }

  document.addEventListener("input", function (event) {
    var panel = detail();
    if (panel && panel.contains(event.target)) panel.dataset.dirty = "1";
  });

  document.addEventListener("htmx:finally:request", function (event) {
    var ctx = event.detail.ctx;
    if (ctx.target === board()) afterBoardUpdate();
  });

  document.addEventListener("htmx:after:swap", function (event) {
    var ctx = event.detail.ctx;
    if (ctx.target && ctx.target.matches && ctx.target.matches("ul.cards")) {
      watchMore();   // "Show more" brought cards and a new link
    }
    if (ctx.target === detail()) {
      var panel = detail();
      delete panel.dataset.dirty;
      if (refocusDetail) {
        var again = document.getElementById(refocusDetail);
        refocusDetail = "";
        if (again) again.focus();
      }
      var open = panel.querySelector(".detail-inner") !== null;
      layout().classList.toggle("has-detail", open);
      var fromInside = ctx.sourceElement && panel.contains(ctx.sourceElement);
      if (!open) {
        closeDetail();
      } else if (!fromInside) {
        var heading = document.getElementById("detail-heading");
        if (heading) heading.focus();
      }
    }
  });

  document.addEventListener("click", function (event) {
    var close = event.target.closest && event.target.closest("[data-close-detail]");
    if (!close) return;
    event.preventDefault();
    closeDetail();
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    if (menu && !menu.hidden) { closeMenu(true); return; }
    var panel = detail();
    if (panel && panel.contains(document.activeElement) && panel.firstElementChild) {
      closeDetail();
    }
  });

  function start() {
    initSortables();
    watchMore();
    var inner = document.querySelector("#detail .detail-inner");
    if (inner) openedCard = inner.dataset.task;
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
