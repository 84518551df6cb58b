// Progressive enhancement only: every page works without this file.
// 1. Copy buttons ([data-copy-target]) copy a field's text to the clipboard.
// 2. Request forms ([data-live-dry-run]) refresh their dry run as the fields change.
// 3. A request form's submit button is disabled once pressed (the server also issues once).
(function () {
  "use strict";
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    var target = document.getElementById(button.getAttribute("data-copy-target"));
    var status = button.parentElement.querySelector(".copy-status");
    if (!target || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(target.value || target.textContent).then(function () {
        if (status) { status.textContent = "Copied."; }
      }, function () {
        target.select();
        if (status) { status.textContent = "Select the text and copy it with Ctrl+C."; }
      });
    });
  });

  document.querySelectorAll("form[data-live-dry-run]").forEach(function (form) {
    var panel = form.querySelector("#dry-run");
    var timer = null;
    function refresh() {
      var data = new FormData(form);
      data.set("check", "1");
      data.delete("confirm");
      fetch(form.action, {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "X-Portal-Fragment": "checks" }
      }).then(function (response) {
        return response.ok ? response.text() : null;
      }).then(function (html) {
        if (html !== null && panel) { panel.innerHTML = html; }
      }).catch(function () { /* the Check button still works */ });
    }
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 400);
    });
    form.addEventListener("change", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 50);
    });
    form.addEventListener("submit", function (event) {
      var submitter = event.submitter;
      if (submitter && submitter.hasAttribute("data-once")) {
        // keep the pressed button's name in the request, then block a second press
        setTimeout(function () { submitter.disabled = true; }, 0);
      }
    });
  });
})();
