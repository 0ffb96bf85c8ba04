// The board: drag and drop (SortableJS), live polling with ETags, the card detail panel,
// and keeping the keyboard focus where the person was working.
(function () {
  "use strict";

  var dragging = false;      // a card is being dragged
  var pressing = false;      // a pointer is down on a card: a drag may be starting
  var pendingFocus = null;   // id of the element to focus after the board is re-rendered
  var openedCard = null;     // id of the card whose detail is open

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
        filter: "button, input, select, textarea",
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
    var form = item.querySelector("form.card-moves");
    var next = item.nextElementSibling;
    while (next && !next.matches("li.card")) next = next.nextElementSibling;
    pendingFocus = "card-link-" + item.dataset.id;
    window.htmx.ajax("POST", form.getAttribute("hx-post"), {
      source: form,
      target: "#board",
      swap: "innerMorph",
      values: { column: list.dataset.column, before: next ? next.dataset.id : "" }
    });
  }

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
    if (source === board() && ctx.request.method === "GET") {
      // A poll: skip it mid-drag or in a background tab; otherwise ask "changed since?".
      if (holding() || document.hidden) { event.preventDefault(); return; }
      var etag = board().dataset.etag;
      if (etag) ctx.request.headers["If-None-Match"] = "\"" + etag + "\"";
    }
    if (source.matches && source.matches("form.card-moves")) {
      var submitter = ctx.request.submitter;
      if (submitter && submitter.id) pendingFocus = submitter.id;
    }
    if (source.matches && source.matches("a.card-title")) {
      openedCard = source.closest("li.card").dataset.id;
    }
  });

  document.addEventListener("htmx:after:request", function (event) {
    var ctx = event.detail.ctx;
    var response = ctx.response;
    if (!response) return;
    if (ctx.target === board() && response.status === 200) {
      var etag = response.headers.get("ETag");
      if (etag) board().dataset.etag = etag.replace(/^W\//, "").replace(/"/g, "");
    }
    var source = ctx.sourceElement;
    if (source.id === "add-task" && response.status === 200) {
      // Ready for the next card: an empty field with the focus in it.
      source.reset();
      pendingFocus = "add-task-title";
    }
  });

  document.addEventListener("htmx:after:swap", function (event) {
    var ctx = event.detail.ctx;
    if (ctx.target === board()) {
      initSortables();
      if (pendingFocus) {
        var target = document.getElementById(pendingFocus);
        if (!target && pendingFocus.indexOf("mv-") === 0) {
          // That button is gone (e.g. the card reached the last column): stay on the card.
          var id = pendingFocus.slice(3, 39);
          target = document.querySelector("#card-" + CSS.escape(id) + " .card-moves button")
            || document.getElementById("card-link-" + id);
        }
        if (target) target.focus();
        pendingFocus = null;
      }
    }
    if (ctx.target === detail()) {
      var panel = detail();
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
    var panel = detail();
    if (panel && panel.contains(document.activeElement) && panel.firstElementChild) {
      closeDetail();
    }
  });

  function start() {
    initSortables();
    var inner = document.querySelector("#detail .detail-inner");
    if (inner) openedCard = inner.dataset.task;
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
