// The import page: the upload's progress, then a word while the server imports.
(function () {
  "use strict";
  var form = document.getElementById("import-form");
  if (!form) return;
  document.body.addEventListener("htmx:xhr:progress", function (event) {
    var bar = document.getElementById("import-progress");
    var status = document.getElementById("import-status");
    var loaded = event.detail.loaded, total = event.detail.total;
    if (!bar || !total) return;
    bar.hidden = false;
    bar.value = Math.round((loaded / total) * 100);
    if (status) {
      status.textContent = loaded < total ? "Uploading… " + bar.value + " %" : "Importing…";
    }
  });
  // A file that cannot be imported comes back as the page with its reason (422, 413):
  // show it rather than nothing.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 413 || status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
