// The staff console's live updates. Without JavaScript every page still works (reload it);
// this only keeps the queue and the transcript current, from server-sent events.
// Citizens' words are put in place with textContent, never as markup.
(function () {
  "use strict";

  // A server with its live-update budget taken sends what there is now and a "busy" event
  // ({"retry": seconds}) instead of holding the stream: close it and come back later, a
  // little later each time in a row (up to 20 s), so that the page polls instead of streaming.
  var live = function (url, handlers) {
    var refused = 0;
    var source = null;
    var connect = function () {
      source = new EventSource(url());
      Object.keys(handlers).forEach(function (name) {
        source.addEventListener(name, handlers[name]);
      });
      source.addEventListener("busy", function (event) {
        source.close();
        refused += 1;
        var retry = (JSON.parse(event.data).retry || 3) * 1000;
        window.setTimeout(connect, Math.min(20000, retry * Math.pow(1.5, refused - 1)));
      });
      // the stream ends on its own after a while: start again (from the last line seen, for
      // the transcript), so that nothing is shown twice and nothing is missed
      source.addEventListener("error", function () {
        refused = 0;
        source.close();
        window.setTimeout(connect, 1000);
      });
    };
    connect();
  };

  var queue = document.getElementById("queue");
  if (queue && window.EventSource) {
    var refreshing = false;
    var again = false;
    var refresh = function () {
      // a change announced while a fetch is on its way may not be in that fetch's answer:
      // fetch once more when it is done, or the queue would miss it until the next change
      if (refreshing) { again = true; return; }
      refreshing = true;
      again = false;
      fetch(queue.dataset.fragment, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          // server-rendered and escaped by the same templates as the page itself
          if (html !== null) { queue.innerHTML = html; }
        })
        // a failed fetch waits for the next event (a reconnected stream sends one at once)
        .catch(function () {})
        .finally(function () {
          refreshing = false;
          if (again) { refresh(); }
        });
    };
    live(function () { return queue.dataset.live; }, { changed: refresh });
  }

  var transcript = document.getElementById("transcript");
  if (transcript && window.EventSource) {
    var after = parseInt(transcript.dataset.after, 10) || 0;
    var connect = function () {
      live(function () { return transcript.dataset.live + "?after=" + after; }, {
        lines: function (event) { JSON.parse(event.data).forEach(add); }
      });
    };
    var add = function (line) {
      if (line.seq <= after) { return; }
      after = line.seq;
      var item = document.createElement("li");
      item.className = "line " + line.role + (line.note ? " note" : "");
      var who = document.createElement("span");
      who.className = "who";
      who.textContent = line.who + (line.staff ? " (" + line.staff + ")" : "");
      var time = document.createElement("time");
      time.dateTime = line.at;
      // Hong Kong time in the staff member's language, as the server writes it
      time.textContent = line.time;
      var text = document.createElement("span");
      text.className = "text";
      text.textContent = line.text;
      if (!line.own && transcript.dataset.citizenLang &&
          (line.role === "user" || line.role === "assistant")) {
        text.lang = transcript.dataset.citizenLang;   // the citizen's words, in their language
      }
      if (line.recording) {
        // a phone caller's voice message: a link to Twilio's audio (checked on the server)
        var listen = document.createElement("a");
        listen.href = line.recording.mp3;
        listen.rel = "noreferrer noopener";
        listen.target = "_blank";
        listen.className = "target";
        listen.textContent = transcript.dataset.listen || "MP3";
        text.appendChild(document.createTextNode(": "));
        text.appendChild(listen);
      }
      item.appendChild(who);
      item.appendChild(document.createTextNode(" "));
      item.appendChild(time);
      item.appendChild(document.createTextNode(" "));
      item.appendChild(text);
      transcript.appendChild(item);
    };
    connect();
  }
})();
