// Keyboard shortcuts of the console's pages. An element with data-key="x" (and
// aria-keyshortcuts="x", so assistive technology can tell) is clicked, or focused when it is a
// field, when x is pressed; on the queue, j and k move between the rows' Open links (Enter
// opens). Single keys only, never with Alt, Ctrl or Meta, never while typing in a field, and
// all of them can be turned off (WCAG 2.1.4): a screen reader in browse mode keeps its own keys.
(function () {
  "use strict";

  var on = true;
  try { on = window.localStorage.getItem("kaifong-shortcuts") !== "off"; } catch (e) { /* on */ }
  var toggle = document.getElementById("shortcuts-toggle");
  if (toggle) {
    toggle.hidden = false;
    toggle.setAttribute("aria-pressed", on ? "true" : "false");
    toggle.addEventListener("click", function () {
      on = !on;
      try { window.localStorage.setItem("kaifong-shortcuts", on ? "on" : "off"); } catch (e) { /* page only */ }
      toggle.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }

  var typing = function (el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  };
  var queue = document.getElementById("queue");
  var move = function (step) {
    var all = Array.prototype.slice.call(queue.querySelectorAll("a.open"));
    if (!all.length) { return; }
    var at = all.indexOf(document.activeElement);
    var next = at < 0 ? (step > 0 ? 0 : all.length - 1)
                      : Math.min(Math.max(at + step, 0), all.length - 1);
    all[next].focus();
  };
  if (queue) {
    // the live refresh replaces the table: the row that had the focus gets it back, so that
    // someone working by keyboard keeps their place
    var selected = null;
    queue.addEventListener("focusin", function (event) {
      queue.querySelectorAll("tr.selected").forEach(function (r) { r.classList.remove("selected"); });
      var row = event.target.closest("tr");
      if (row) { row.classList.add("selected"); }
      selected = row && event.target.matches("a.open") ? row.dataset.id : null;
    });
    queue.addEventListener("focusout", function (event) {
      if (event.relatedTarget) { selected = null; }          // moved on, not removed
    });
    document.addEventListener("mousedown", function () { selected = null; });
    new MutationObserver(function () {
      if (!selected || (document.activeElement && document.activeElement !== document.body)) {
        return;
      }
      var link = queue.querySelector("tr[data-id='" + selected + "'] a.open");
      if (link) { link.focus(); }
    }).observe(queue, { childList: true });
  }

  // Ctrl+Enter (or Cmd+Enter) in the reply sends it, as in most chat tools
  var reply = document.getElementById("reply-text");
  if (reply) {
    reply.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && reply.value.trim()) {
        event.preventDefault();
        reply.form.requestSubmit();
      }
    });
  }

  document.addEventListener("keydown", function (event) {
    if (!on || event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) { return; }
    if (event.key.length !== 1) { return; }
    if (queue && (event.key === "j" || event.key === "k")) {
      move(event.key === "j" ? 1 : -1);
      event.preventDefault();
      return;
    }
    var target = null;
    document.querySelectorAll("[data-key]").forEach(function (el) {
      if (!target && el.dataset.key === event.key && el.getClientRects().length) { target = el; }
    });
    if (!target) { return; }
    event.preventDefault();
    if (typing(target)) { target.focus(); } else { target.click(); }
  });
})();
