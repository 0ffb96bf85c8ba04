// The columns page: drag a column to reorder it. The drop posts the same form the
// "Move left"/"Move right" buttons use, with the new place, and the page reloads.
(function () {
  "use strict";
  function start() {
    var list = document.getElementById("column-list");
    var form = document.getElementById("column-drop");
    if (!list || !form || !window.Sortable) return;
    window.Sortable.create(list, {
      handle: ".drag-handle",
      forceFallback: true,
      onEnd: function (evt) {
        if (evt.oldIndex === evt.newIndex) return;
        form.action = "/columns/" + evt.item.dataset.id + "/move";
        form.elements.position.value = String(evt.newIndex);
        form.submit();
      }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
