// The wait before a new one-time code may be asked for (templates/_resend_wait.html): the
// server's seconds, counted down; the button waits until then. The server stays the judge: it
// refuses an early request whatever this page shows.
(function () {
  "use strict";
  var wait = document.getElementById("resend-wait");
  if (!wait) return;
  var shown = wait.querySelector("[data-seconds]");
  var button = document.getElementById(wait.getAttribute("data-countdown-for") || "");
  var ready = document.getElementById("resend-ready");
  var end = Date.now() + parseInt(wait.getAttribute("data-countdown"), 10) * 1000;
  if (button) button.setAttribute("aria-describedby", "resend-wait");
  function tick() {
    var left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
    shown.textContent = String(left);
    if (button) button.disabled = left > 0;
    if (left > 0) {
      setTimeout(tick, 250);
      return;
    }
    wait.hidden = true;
    if (button) button.removeAttribute("aria-describedby");
    if (ready) ready.textContent = ready.getAttribute("data-text");
  }
  tick();
})();
