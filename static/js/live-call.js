// The live-call pages (a case, the new-case form): keyboard shortcuts, and what htmx needs around its swaps.
// No inline script or style under the policy: htmx is configured by the page's htmx-config meta element.
(function () {
  "use strict";

  // htmx notes the page's path (a case's number) in sessionStorage when it starts, history or not; on a
  // shared machine nothing of a case is left in the browser's storage.
  try { window.sessionStorage.removeItem("htmx-current-path-for-history"); } catch (error) { /* storage off */ }

  var live = document.getElementById("live-status");
  var clearing = null;

  // The polite region says what a swap changed, shown for a few seconds too; a failure stays until the next.
  function shown(failure) {
    live.classList.toggle("failed", failure);
    window.clearTimeout(clearing);
    if (!failure) {
      clearing = window.setTimeout(function () { live.textContent = ""; }, 8000);
    }
  }

  function announce(text, failure) {
    if (!live) { return; }
    live.textContent = text;
    shown(failure);
  }

  function fields(root) {
    return root.querySelector(".error[tabindex='-1']") ||
      root.querySelector("[aria-invalid='true']") ||
      root.querySelector("input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])");
  }

  function reveal(element) {
    for (var details = element.closest("details"); details; details = details.parentElement.closest("details")) {
      details.open = true;
    }
  }

  // Alt+Shift+letter: the element whose aria-keyshortcuts names it is clicked (a button) or focused (a field).
  // The physical key is read, as Alt changes the character typed on some keyboards.
  document.addEventListener("keydown", function (event) {
    if (event.altKey && event.shiftKey && !event.ctrlKey && !event.metaKey && /^Key[A-Z]$/.test(event.code)) {
      var target = document.querySelector('[aria-keyshortcuts~="Alt+Shift+' + event.code.slice(3) + '"]');
      if (!target) { return; }
      event.preventDefault();
      reveal(target);
      if (target.tagName === "BUTTON") {
        target.click();
      } else {
        target.focus();
      }
    } else if (event.ctrlKey && !event.altKey && !event.metaKey && event.key === "Enter") {
      var form = event.target.closest && event.target.closest("form");
      var submit = form && form.querySelector('[aria-keyshortcuts~="Control+Enter"]');
      if (submit) {
        event.preventDefault();
        submit.click();
      }
    }
  });

  document.querySelectorAll(".shortcuts[hidden]").forEach(function (hint) { hint.hidden = false; });

  // A form sent back with errors: the first field to put right has the focus.
  var invalid = document.querySelector("form [aria-invalid='true']");
  if (invalid) {
    reveal(invalid);
    invalid.focus();
  }

  if (!window.htmx) { return; }

  // Every htmx request here posts a form, which carries its CSRF token; the header covers any other.
  document.body.addEventListener("htmx:configRequest", function (event) {
    var token = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (token) { event.detail.headers["X-CSRFToken"] = token.value; }
  });

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var asked = new URL(event.detail.requestConfig.path, window.location.href).pathname;
    if (xhr.responseURL && new URL(xhr.responseURL).pathname !== asked) {
      // Sent elsewhere (the sign-in page when the session has ended): nothing of it belongs in this page.
      event.detail.shouldSwap = false;
      event.detail.isError = false;
      announce(live.dataset.signedOut, true);
    }
  });

  document.body.addEventListener("htmx:oobAfterSwap", function (event) {
    if (event.detail.target === live) { shown(false); }
  });

  // After a swap, focus goes to the form's error, or its first field, where the server marked the part.
  document.body.addEventListener("htmx:afterSettle", function () {
    var part = document.querySelector("[data-focus]");
    if (!part) { return; }
    part.removeAttribute("data-focus");
    var target = fields(part);
    if (target) { target.focus(); }
  });

  function failed() { announce(live.dataset.failed, true); }
  document.body.addEventListener("htmx:responseError", failed);
  document.body.addEventListener("htmx:sendError", failed);
}());
