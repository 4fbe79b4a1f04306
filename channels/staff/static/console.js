// The staff console's live updates. Without JavaScript every page still works (reload it);
// this only keeps the queue and the transcript current, from server-sent events.
// Citizens' words are put in place with textContent, never as markup.
(function () {
  "use strict";

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
    new EventSource(queue.dataset.live).addEventListener("changed", refresh);
  }

  var transcript = document.getElementById("transcript");
  if (transcript && window.EventSource) {
    var after = parseInt(transcript.dataset.after, 10) || 0;
    var source = null;
    var connect = function () {
      source = new EventSource(transcript.dataset.live + "?after=" + after);
      source.addEventListener("lines", function (event) {
        JSON.parse(event.data).forEach(add);
      });
      // the stream ends on its own after a while; start again from the last line seen, so
      // that nothing is shown twice and nothing is missed
      source.addEventListener("error", function () {
        source.close();
        window.setTimeout(connect, 1000);
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
