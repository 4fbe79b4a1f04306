// The kiosk's only script. Every screen works without it (plain forms and links, and meta
// refreshes for the time limit); this adds the idle timer that resets on every touch, the
// read-aloud button, printing, and staff messages as they arrive. Messages are put in the page
// with textContent, never as markup. No script of anyone else's, nothing inline.
(function () {
  "use strict";
  var body = document.body;
  var data = body.dataset;

  // a page brought back from the back/forward cache may be a screen of a session that has
  // ended since: ask the server again (it answers with welcome when the session is gone)
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { location.replace(data.home); }
  });

  // a touch sends its form once (a second tap while the next screen loads does nothing)
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
  });

  // -- time -------------------------------------------------------------------------------
  var timer = null;
  function after(seconds, url) {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(function () { location.replace(url); }, seconds * 1000);
  }
  if (data.timer === "idle") {
    var idle = parseInt(data.idle, 10);
    var reset = function () { after(idle, data.moreTime); };
    ["pointerdown", "keydown", "touchstart", "input"].forEach(function (name) {
      document.addEventListener(name, reset, { passive: true, capture: true });
    });
    reset();
  } else if (data.timer === "warning") {
    // no reset here: only "Yes, I need more time" gives more time
    after(parseInt(data.warning, 10), data.end);
  }

  // -- read aloud ---------------------------------------------------------------------------
  var read = document.querySelector("button.read");
  if (read && read.dataset.clips && window.Audio) {
    read.hidden = false;
    var audio = null;
    var stop = function () {
      if (audio) { audio.pause(); audio = null; }
      read.setAttribute("aria-pressed", "false");
    };
    read.addEventListener("click", function () {
      if (audio) { stop(); return; }
      var clips = read.dataset.clips.split(" ").filter(Boolean);
      var i = 0;
      read.setAttribute("aria-pressed", "true");
      var next = function () {
        if (i >= clips.length) { stop(); return; }
        audio = new Audio(clips[i++]);
        audio.addEventListener("ended", next);
        audio.addEventListener("error", next);
        audio.play().catch(next);
      };
      next();
    });
  }

  // -- print ------------------------------------------------------------------------------
  var print = document.querySelector("button.print");
  if (print && window.print) {
    print.hidden = false;
    print.addEventListener("click", function () { window.print(); });
  }

  // -- staff messages, as they arrive (a long poll) ------------------------------------------
  var list = document.getElementById("messages");
  if (list && window.fetch) {
    var seen = parseInt(list.dataset.after, 10) || 0;
    var add = function (line) {
      var empty = list.querySelector("li.empty");
      if (empty) { empty.remove(); }
      var item = document.createElement("li");
      item.className = line.role;
      var who = document.createElement("span");
      who.className = "who";
      who.textContent = line.who + ":";
      var text = document.createElement("span");
      text.className = "text";
      text.textContent = line.text;
      item.appendChild(who);
      item.appendChild(document.createTextNode(" "));
      item.appendChild(text);
      list.appendChild(item);
      seen = Math.max(seen, line.seq);
    };
    // a server with its live-update budget taken answers at once with "retry" (seconds):
    // come back later, a little later each time in a row (up to 20 s), so that refused
    // kiosks do not all come back together
    var refused = 0;
    var poll = function () {
      fetch(list.dataset.live + "?after=" + seen, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (answer) {
          if (answer && (answer.gone || !answer.staff || answer.status !== list.dataset.status)) {
            // handed back to the assistant, closed, or the session ended: the server says what
            location.replace(data.home);
            return;
          }
          if (answer) { answer.lines.forEach(add); }
          if (answer && answer.retry) {
            refused += 1;
            setTimeout(poll, Math.min(20000, answer.retry * 1000 * Math.pow(1.5, refused - 1)));
            return;
          }
          refused = 0;
          setTimeout(poll, answer ? 0 : 3000);
        })
        .catch(function () { setTimeout(poll, 3000); });
    };
    poll();
  }
})();
