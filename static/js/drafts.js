// What is typed into a form marked data-draft (its key) is kept on the server, at data-draft-url: two seconds
// after typing stops, and at once when the page is hidden or left. A session that ends or a network that drops
// then loses nothing. Nothing is kept in the browser (no localStorage, sessionStorage or IndexedDB): machines
// are shared. Events are caught on the document, so forms a page swaps in later are covered too.
(function () {
  "use strict";
  var DELAY = 2000;
  var RETRY = 10000;
  var states = new WeakMap();

  function stateOf(form) {
    var state = states.get(form);
    if (!state) {
      state = { timer: null, dirty: false, submitting: false, inFlight: null };
      states.set(form, state);
    }
    return state;
  }

  function draftedForm(target) {
    var form = target && (target.form || (target.closest && target.closest("form")));
    return form && form.dataset.draft && form.dataset.draftUrl ? form : null;
  }

  function body(form) {
    var data = new FormData(form);
    data.set("draft_key", form.dataset.draft);
    return data;
  }

  function say(form, text) {
    var line = form.querySelector(".draft-status");
    if (!line) {
      line = document.createElement("p");
      line.className = "draft-status muted";
      form.appendChild(line);
    }
    line.textContent = text;
  }

  function save(form) {
    var state = stateOf(form);
    clearTimeout(state.timer);
    state.timer = null;
    if (!state.dirty || state.submitting || !form.isConnected) return;
    state.dirty = false;
    // Not followed to the login page when the session has ended: posting the form itself then keeps it.
    var sent = fetch(form.dataset.draftUrl, {
      method: "POST",
      body: body(form),
      credentials: "same-origin",
      redirect: "manual",
    })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (answer) {
        if (answer && answer.message) say(form, answer.message);
      })
      .catch(function () {
        // The network dropped: try again a little later, unless typing does first.
        state.dirty = true;
        clearTimeout(state.timer);
        state.timer = setTimeout(function () { save(form); }, RETRY);
      })
      .finally(function () {
        if (state.inFlight === sent) state.inFlight = null;
      });
    state.inFlight = sent;
  }

  function typed(event) {
    var form = draftedForm(event.target);
    if (!form) return;
    var state = stateOf(form);
    state.submitting = false;
    state.dirty = true;
    clearTimeout(state.timer);
    state.timer = setTimeout(function () { save(form); }, DELAY);
  }

  function leaving() {
    document.querySelectorAll("form[data-draft]").forEach(function (form) {
      var state = stateOf(form);
      if (!state.dirty || state.submitting) return;
      clearTimeout(state.timer);
      state.dirty = false;
      navigator.sendBeacon(form.dataset.draftUrl, body(form));
    });
  }

  document.addEventListener("input", typed);
  document.addEventListener("change", typed);
  // Posting the form carries what it holds; a save still on its way is let arrive first, so that it cannot bring
  // back the draft that saving the form deletes.
  document.addEventListener("submit", function (event) {
    var form = draftedForm(event.target);
    if (!form) return;
    var state = stateOf(form);
    clearTimeout(state.timer);
    state.dirty = false;
    if (state.inFlight) {
      event.preventDefault();
      event.stopPropagation();
      var submitter = event.submitter || null;
      state.inFlight.finally(function () {
        state.inFlight = null;
        form.requestSubmit(submitter);
      });
      return;
    }
    state.submitting = true;
  }, true);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") leaving();
  });
  window.addEventListener("pagehide", leaving);
})();
