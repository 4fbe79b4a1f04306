// The phone simulator's side of a Twilio Media Stream (KAIFONG_VOICE_RECOGNISER=vosk): what
// Twilio does between the caller's phone and the media service, from the browser.
//
// * Sends "connected", then "start" with the call's CallSid and the <Stream>'s parameters (the
//   token) as customParameters, then the microphone as "media" events: 8 kHz mu-law, 20 ms
//   (160 bytes) a frame, base64; each key on the page is a "dtmf" event.
// * Plays what comes back as Twilio does: "media" frames queue up and play one after another; a
//   "mark" is sent back once the audio before it has played; "clear" drops what is queued and
//   sends back the marks still waiting.
// * When the service closes the stream, the page requests the <Connect>'s action (the form), as
//   Twilio does; the media service has kept the answer.
//
// Once the microphone has been chosen, the next question's stream starts by itself.
"use strict";

const RATE = 8000;
const FRAME = 160;                 // samples in 20 ms at 8 kHz
const CUTOFF = 3400;               // telephone band

function ulawEncode(x) {
  let s = Math.max(-32635, Math.min(32635, Math.round(x * 32767)));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  s += 0x84;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

function ulawDecode(u) {
  u = ~u & 0xff;
  const exponent = (u >> 4) & 7;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << exponent) - 0x84;
  return ((u & 0x80) ? -magnitude : magnitude) / 32768;
}

// The microphone's rate down to 8 kHz: a windowed-sinc low-pass at the telephone band's top,
// then every ratio-th sample (nearest; exact at 48 kHz).
class Downsampler {
  constructor(rate) {
    this.ratio = rate / RATE;
    const n = 63, half = (n - 1) / 2, fc = CUTOFF / rate;
    this.taps = new Float32Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const k = i - half;
      const sinc = k === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * k) / (Math.PI * k);
      const window = 0.54 - 0.46 * Math.cos(2 * Math.PI * i / (n - 1));
      this.taps[i] = sinc * window;
      sum += this.taps[i];
    }
    for (let i = 0; i < n; i++) this.taps[i] /= sum;
    this.half = half;
    this.buffer = new Float32Array(0);
    this.position = half;
  }

  push(input) {
    const buffer = new Float32Array(this.buffer.length + input.length);
    buffer.set(this.buffer);
    buffer.set(input, this.buffer.length);
    const out = [];
    const taps = this.taps, half = this.half;
    while (Math.round(this.position) + half < buffer.length) {
      const centre = Math.round(this.position);
      let s = 0;
      for (let k = 0; k < taps.length; k++) s += taps[k] * buffer[centre - half + k];
      out.push(s);
      this.position += this.ratio;
    }
    const drop = Math.max(0, Math.floor(this.position) - half - 1);
    this.buffer = buffer.slice(drop);
    this.position -= drop;
    return out;
  }
}

function base64(bytes) {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

function randomSid(prefix) {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function startStream(form) {
  const status = form.querySelector("#stream-status");
  const tones = Array.from(form.querySelectorAll("button.tone"));
  const say = (text) => { status.textContent = text; };
  const sid = randomSid("MZ");
  const socket = new WebSocket(form.dataset.url);
  const audio = new AudioContext();
  let sources = [];                 // what is scheduled to play
  let marks = [];                   // {name, at}: sent back when the audio before has played
  let playUntil = 0;                // when what is queued ends (the context's clock)
  let sequence = 1, chunk = 0;
  let microphone = null, ticker = null, open = false, ended = false;

  const send = (event) => {
    if (socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({...event, sequenceNumber: String(++sequence), streamSid: sid}));
    }
  };
  const sendMark = (name) => {
    send({event: "mark", mark: {name}});
    form.dataset.lastMark = name;     // "end": the question has played
  };

  const play = (payload) => {
    const bytes = atob(payload);
    const buffer = audio.createBuffer(1, bytes.length, RATE);
    const samples = buffer.getChannelData(0);
    for (let i = 0; i < bytes.length; i++) samples[i] = ulawDecode(bytes.charCodeAt(i));
    const source = audio.createBufferSource();
    source.buffer = buffer;
    source.connect(audio.destination);
    const at = Math.max(playUntil, audio.currentTime + 0.02);
    source.start(at);
    playUntil = at + buffer.duration;
    sources.push(source);
    source.onended = () => { sources = sources.filter((s) => s !== source); };
  };
  const clear = () => {
    for (const source of sources) {
      try { source.stop(); } catch (e) { /* not started yet */ }
    }
    sources = [];
    playUntil = audio.currentTime;
    const waiting = marks;
    marks = [];
    for (const m of waiting) sendMark(m.name);
    form.dataset.cleared = String(Number(form.dataset.cleared || 0) + 1);
  };
  const checkMarks = () => {
    const now = audio.currentTime;
    while (marks.length && marks[0].at <= now) sendMark(marks.shift().name);
  };

  const finish = () => {
    if (ended) return;
    ended = true;
    clearInterval(ticker);
    if (microphone) microphone.getTracks().forEach((t) => t.stop());
    audio.close();
    say("The stream has closed: the call goes on.");
    form.submit();                  // Twilio requests the <Connect>'s action
  };

  socket.onopen = () => {
    open = true;
    socket.send(JSON.stringify({event: "connected", protocol: "Call", version: "1.0.0"}));
    socket.send(JSON.stringify({
      event: "start", sequenceNumber: "1", streamSid: sid,
      start: {accountSid: "AC" + "0".repeat(32), streamSid: sid, callSid: form.dataset.call,
              tracks: ["inbound"], customParameters: JSON.parse(form.dataset.parameters),
              mediaFormat: {encoding: "audio/x-mulaw", sampleRate: RATE, channels: 1}}}));
    tones.forEach((b) => { b.disabled = false; });
    say("Connected: the question is playing. Talk, or press a key.");
  };
  socket.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (data.event === "media") {
      play(data.media.payload);
    } else if (data.event === "mark") {
      if (playUntil <= audio.currentTime) sendMark(data.mark.name);
      else marks.push({name: data.mark.name, at: playUntil});
      if (data.mark.name === "end") form.dataset.played = "1";
    } else if (data.event === "clear") {
      clear();
    }
  };
  socket.onclose = finish;
  socket.onerror = () => say("The media service could not be reached.");
  ticker = setInterval(checkMarks, 20);
  // started by itself (no click on this page), the browser may hold the sound back: the
  // question is not heard, and its marks not sent back, until the page is clicked
  audio.resume();
  setTimeout(() => {
    if (audio.state === "running" || ended) return;
    say("Click anywhere on the page to hear the question.");
    const wake = () => { audio.resume(); };
    document.addEventListener("click", wake, {once: true});
    document.addEventListener("keydown", wake, {once: true});
  }, 500);
  // leaving the page (hanging up) ends the stream as Twilio does when a call ends
  window.addEventListener("pagehide", () => {
    if (!ended) send({event: "stop", stop: {accountSid: "AC" + "0".repeat(32),
                                            callSid: form.dataset.call}});
  });

  for (const button of tones) {
    button.addEventListener("click", () => send({
      event: "dtmf", dtmf: {track: "inbound_track", digit: button.dataset.key}}));
  }

  navigator.mediaDevices.getUserMedia({audio: {echoCancellation: true, noiseSuppression: false,
                                               autoGainControl: false, channelCount: 1}})
    .then((stream) => {
      microphone = stream;
      if (ended) { stream.getTracks().forEach((t) => t.stop()); return; }
      const input = audio.createMediaStreamSource(stream);
      const processor = audio.createScriptProcessor(1024, 1, 1);
      const down = new Downsampler(audio.sampleRate);
      let pending = [];
      processor.onaudioprocess = (event) => {
        pending = pending.concat(down.push(event.inputBuffer.getChannelData(0)));
        while (pending.length >= FRAME) {
          const frame = pending.slice(0, FRAME).map(ulawEncode);
          pending = pending.slice(FRAME);
          if (!open) continue;
          send({event: "media", media: {track: "inbound", chunk: String(++chunk),
                                         timestamp: String(chunk * 20),
                                         payload: base64(frame)}});
        }
      };
      input.connect(processor);
      processor.connect(audio.destination);      // silent: the processor writes nothing out
      form.dataset.microphone = "on";
    })
    .catch(() => say("No microphone: press the keys on this page instead."));
}

window.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("stream");
  if (!form) return;
  const talk = document.getElementById("talk");
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    talk.disabled = true;
    sessionStorage.setItem("kaifong-stream", "on");
    startStream(form);
  };
  talk.addEventListener("click", start);
  if (sessionStorage.getItem("kaifong-stream") === "on") start();
});
