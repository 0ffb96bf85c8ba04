// Taskboard, the card detail's attachments: a chosen file uploads at once with a progress
// bar; files dropped on the open card, and images pasted while it is open, upload too.
// Without JavaScript the same form posts the file and the page comes back.
(function () {
  "use strict";

  function panel() { return document.getElementById("detail"); }
  function form() { var p = panel(); return p && p.querySelector("form.attach-form"); }

  var queue = [];
  var busy = false;

  function enqueue(files) {
    for (var i = 0; i < files.length; i++) queue.push(files[i]);
    next();
  }

  function next() {
    if (busy || !queue.length) return;
    var target = form();
    if (!target) { queue = []; return; }
    var file = queue.shift();
    var limit = parseInt(target.dataset.maxBytes || "0", 10);
    if (limit && file.size > limit) {
      // Said at once, without sending megabytes the server would refuse.
      window.Taskboard.showNotice("“" + (file.name || "The file") + "” is too large to attach.");
      next();
      return;
    }
    send(target, file);
  }

  function send(target, file) {
    busy = true;
    var data = new FormData();
    data.append("csrf_token", target.querySelector("input[name=csrf_token]").value);
    data.append("file", file, file.name || "pasted-image.png");
    var bar = target.querySelector(".attach-progress");
    bar.hidden = false;
    bar.value = 0;
    var request = new XMLHttpRequest();
    request.open("POST", target.action);
    request.setRequestHeader("HX-Request", "true");
    request.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) bar.value = Math.round((event.loaded / event.total) * 100);
    });
    request.addEventListener("load", function () {
      busy = false;
      var html = request.responseText;
      if (request.getResponseHeader("Content-Type").indexOf("text/html") === 0 && html) {
        // The detail as the server now has it: the list with the new file, or the error.
        window.htmx.swap({ text: html, target: panel(), swap: "innerHTML" });
      } else {
        window.Taskboard.showNotice("The upload failed (" + request.status + ").");
      }
      if (request.status < 300) {
        document.body.dispatchEvent(new CustomEvent("board-changed"));
        window.Taskboard.announce("Attached “" + (file.name || "the image") + "”.");
      }
      next();
    });
    request.addEventListener("error", function () {
      busy = false;
      bar.hidden = true;
      window.Taskboard.showNotice("The upload did not reach the server. Check the connection and try again.");
      next();
    });
    request.send(data);
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLInputElement) || input.id !== "attach-file") return;
    if (input.files && input.files.length) enqueue(input.files);
  });

  // The plain form, submitted anyway (Enter on the field): the same upload.
  document.addEventListener("submit", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLFormElement) || !target.classList.contains("attach-form")) return;
    event.preventDefault();
    var input = target.querySelector("input[type=file]");
    if (input.files && input.files.length) enqueue(input.files);
  });

  function carriesFiles(event) {
    var types = event.dataTransfer && event.dataTransfer.types;
    return !!types && Array.prototype.indexOf.call(types, "Files") !== -1;
  }

  function dropZone(event) {
    var p = panel();
    var inner = p && p.querySelector(".detail-inner");
    return inner && inner.contains(event.target) && form() ? inner : null;
  }

  document.addEventListener("dragover", function (event) {
    var zone = carriesFiles(event) && dropZone(event);
    if (!zone) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    zone.classList.add("drop-target");
  });
  document.addEventListener("dragleave", function (event) {
    var zone = dropZone(event);
    if (zone && !zone.contains(event.relatedTarget)) zone.classList.remove("drop-target");
  });
  document.addEventListener("drop", function (event) {
    var zone = carriesFiles(event) && dropZone(event);
    if (!zone) return;
    event.preventDefault();
    zone.classList.remove("drop-target");
    enqueue(event.dataTransfer.files);
  });

  // Pasted images (a screenshot) while a card is open; pasted text goes where it always did.
  document.addEventListener("paste", function (event) {
    if (!form() || !event.clipboardData) return;
    var images = [];
    var files = event.clipboardData.files;
    for (var i = 0; i < files.length; i++) {
      if (files[i].type.indexOf("image/") === 0) images.push(files[i]);
    }
    if (!images.length) return;
    event.preventDefault();
    enqueue(images);
  });
})();
