// Copy buttons: <button data-copy="ID"> copies the value of the field with that id.
(function () {
  "use strict";

  function fallbackCopy(field) {
    field.select();
    return document.execCommand("copy");
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    var field = document.getElementById(button.dataset.copy);
    if (!field) return;
    var status = button.closest(".token-secret");
    status = status && status.querySelector(".copy-status");
    function done(ok) {
      // Said once, in the status line beside the button (the button keeps its name).
      if (status) status.textContent = ok ? "Copied." : "Select the text and copy it by hand.";
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(
        function () { done(true); },
        function () { done(fallbackCopy(field)); }
      );
    } else {
      done(fallbackCopy(field));
    }
  });
})();
