// The queue page's helpers, on top of console.js (which keeps the table current): the number
// waiting in the page's title, and an optional sound when someone new arrives (off until the
// member of staff turns it on). Without JavaScript the page works as it is.
(function () {
  "use strict";

  var queue = document.getElementById("queue");
  if (!queue) { return; }
  var baseTitle = document.title;
  var seen = null;                        // ids of the conversations waiting, last time
  var store = window.localStorage;

  var setting = function (name, fallback) {
    try { return store.getItem(name) || fallback; } catch (e) { return fallback; }
  };
  var keep = function (name, value) {
    try { store.setItem(name, value); } catch (e) { /* private mode: for this page only */ }
  };

  // -- the sound ------------------------------------------------------------------------------
  var sound = document.getElementById("sound-toggle");
  var soundOn = setting("kaifong-sound", "off") === "on";
  var audio = null;
  var beep = function () {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) { return; }
    audio = audio || new Context();
    var tone = audio.createOscillator();
    var volume = audio.createGain();
    tone.frequency.value = 880;
    volume.gain.value = 0.2;
    tone.connect(volume);
    volume.connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.25);
    window.__kaifongBeeps = (window.__kaifongBeeps || 0) + 1;   // for tests: how many so far
  };
  if (sound) {
    sound.hidden = false;
    sound.setAttribute("aria-pressed", soundOn ? "true" : "false");
    sound.addEventListener("click", function () {
      soundOn = !soundOn;
      keep("kaifong-sound", soundOn ? "on" : "off");
      sound.setAttribute("aria-pressed", soundOn ? "true" : "false");
    });
  }

  // -- the title: how many wait, and a new arrival -------------------------------------------
  var update = function () {
    var data = queue.querySelector(".queue-data");
    var waiting = data ? parseInt(data.dataset.waiting, 10) || 0 : 0;
    document.title = (waiting ? "(" + waiting + ") " : "") + baseTitle;
    var now = {};
    var arrived = false;
    queue.querySelectorAll("tr[data-status=waiting]").forEach(function (row) {
      now[row.dataset.id] = true;
      if (seen !== null && !seen[row.dataset.id]) { arrived = true; }
    });
    if (arrived && soundOn) { beep(); }
    seen = now;
  };
  update();
  new MutationObserver(update).observe(queue, { childList: true });
})();
