// Taskboard, every page: confirmations, notices from the server, screen-reader announcements.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Dates are shown and read in the viewer's time zone; the server learns it from this cookie.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && /^[A-Za-z0-9_+\/-]+$/.test(zone) && document.cookie.indexOf("tz=" + zone) === -1) {
      document.cookie = "tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax";
    }
  } catch (e) { /* no Intl: UTC it is */ }

  // Plain forms that need a second thought (e.g. deleting a project). Without JavaScript the
  // server asks on a page of its own; here a dialog asks and the answer rides along.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
    event.preventDefault();
    if (!window.confirm(form.dataset.confirm)) return;
    var answer = document.createElement("input");
    answer.type = "hidden";
    answer.name = "confirm";
    answer.value = "yes";
    form.appendChild(answer);
    form.submit();
  });

  var noticeTimer = null;
  // `undo`: a URL to POST to from the notice's "Undo" button (a deleted card comes back).
  function showNotice(message, undo) {
    var notice = document.getElementById("notice");
    if (!notice) return;
    notice.hidden = false;          // shown first, so the alert's new text is announced
    notice.textContent = message;
    if (undo && window.htmx) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-small notice-undo";
      button.textContent = "Undo";
      button.addEventListener("click", function (event) {
        event.stopPropagation();
        notice.hidden = true;
        var source = document.getElementById("board-title") || document.body;
        window.htmx.ajax("POST", undo, { source: source, swap: "none" });
      });
      notice.appendChild(document.createTextNode(" "));
      notice.appendChild(button);
    }
    window.clearTimeout(noticeTimer);
    noticeTimer = window.setTimeout(function () { notice.hidden = true; }, 8000);
  }

  function announce(message) {
    var region = document.getElementById("announcer");
    if (!region) return;
    region.textContent = "";
    window.setTimeout(function () { region.textContent = message; }, 50);
  }

  function eventText(event) {
    var detail = event.detail || {};
    return typeof detail.value === "string" ? detail.value : "";
  }

  // Events named by the server in HX-Trigger headers.
  document.addEventListener("show-error", function (event) {
    showNotice(eventText(event) || "Something went wrong.");
  });
  document.addEventListener("announce", function (event) {
    announce(eventText(event));
  });
  // A deleted card's detail closes: say so where everyone sees it, and put the focus on
  // the board's heading rather than leaving it on the page's body.
  document.addEventListener("task-deleted", function (event) {
    var detail = event.detail || {};
    showNotice(eventText(event) || "Task deleted.", typeof detail.undo === "string" ? detail.undo : null);
    var heading = document.getElementById("board-title");
    if (heading) heading.focus();
  });

  document.addEventListener("click", function (event) {
    var notice = event.target.closest && event.target.closest("#notice");
    if (notice) notice.hidden = true;
  });

  window.Taskboard = { showNotice: showNotice, announce: announce };
})();
