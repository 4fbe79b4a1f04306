// Keypad buttons add their key to the entry; "Play what the caller hears" plays every clip of
// the page in order, as the call would.
document.addEventListener("click", (event) => {
  const key = event.target.closest("button.key");
  if (key) {
    const input = key.form.querySelector("input[name=digits]");
    input.value += key.dataset.key;
  }
});
window.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("play-all");
  if (!button) return;
  const clips = Array.from(document.querySelectorAll("audio[data-sequence]"));
  const play = (i) => {
    if (i >= clips.length) return;
    clips[i].onended = () => play(i + 1);
    clips[i].play().catch(() => play(i + 1));
  };
  button.addEventListener("click", () => play(0));
  play(0);   // after a key press the browser lets the page speak at once
});
