// The import page: the file goes up with a progress bar, then a word while the server
// imports it; the new board opens when it is done, or the page comes back with what was
// wrong. Without JavaScript the same form posts the file and the answer is a page.
(function () {
  "use strict";
  if (!window.FormData || !window.XMLHttpRequest) return;

  // On the document, so the form that comes back with an error works the same way.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.id !== "import-form") return;
    var file = form.querySelector("input[type=file]");
    if (!file || !file.files || !file.files.length) return;  // the server says what is missing
    event.preventDefault();
    var bar = document.getElementById("import-progress");
    var status = document.getElementById("import-status");
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("HX-Request", "true");
    request.upload.addEventListener("progress", function (progress) {
      if (!progress.lengthComputable) return;
      bar.value = Math.round((progress.loaded / progress.total) * 100);
      status.textContent = progress.loaded < progress.total
        ? "Uploading… " + bar.value + " %"
        : "Importing…";
    });
    request.addEventListener("load", function () {
      var next = request.getResponseHeader("HX-Redirect");
      if (next && request.status < 300) {
        status.textContent = "Imported. Opening the board…";
        window.location.assign(next);
        return;
      }
      // The page again, with the reason: its main part replaces this one.
      var page = new DOMParser().parseFromString(request.responseText, "text/html");
      var main = page.querySelector("main");
      if (main) {
        document.querySelector("main").replaceWith(main);
        var error = document.getElementById("import-error");
        if (error) {
          error.setAttribute("tabindex", "-1");
          error.focus();
        }
      } else {
        button.disabled = false;
        status.textContent = "The import failed (" + request.status + ").";
      }
    });
    request.addEventListener("error", function () {
      button.disabled = false;
      status.textContent = "The upload failed: the connection broke. Try again.";
    });
    request.send(new FormData(form));
  });
})();
