// Polls a status URL every 1.5 s; when it reaches the awaited status, submits the form (or
// reloads). Works without it too: every page has a button that does the same. The status line
// is a live region (aria-live): what it is told to say (data-said-<status>) is announced. A form
// goes once: the user's button and the poll may not both submit it (the second would find the
// sign-in already finished).
(function () {
  var el = document.getElementById("push-state");
  if (!el) return;
  var url = el.getAttribute("data-poll"), until = el.getAttribute("data-until");
  var ended = ["denied", "not_me", "failed", "expired", "gone"];
  var form = el.getAttribute("data-form") && document.getElementById(el.getAttribute("data-form"));
  var sent = false;
  if (form) {
    form.addEventListener("submit", function (event) {
      if (sent) { event.preventDefault(); return; }
      sent = true;
    });
  }
  function say(status) {
    var text = el.getAttribute("data-said-" + status);
    if (text) el.textContent = text;
  }
  function tick() {
    if (sent) return;
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        say(data.status);
        if (data.status === until) {
          if (el.getAttribute("data-reload") || !form) { window.location.reload(); return; }
          var button = form.querySelector("button[name=action][value=check], button[value=continue], button:not([name])");
          if (button) { button.click(); } else { form.submit(); }
          return;
        }
        if (ended.indexOf(data.status) >= 0) { window.location.reload(); return; }
        setTimeout(tick, 1500);
      })
      .catch(function () { setTimeout(tick, 3000); });
  }
  setTimeout(tick, 1000);
})();
