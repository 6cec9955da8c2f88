// Polls a status URL every 1.5 s; when it reaches the awaited status, submits the form (or
// reloads). Works without it too: every page has a button that does the same.
(function () {
  var el = document.getElementById("push-state");
  if (!el) return;
  var url = el.getAttribute("data-poll"), until = el.getAttribute("data-until");
  var ended = ["denied", "not_me", "failed", "expired", "gone"];
  function tick() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (data.status === until) {
          if (el.getAttribute("data-reload")) { window.location.reload(); return; }
          var form = document.getElementById(el.getAttribute("data-form"));
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
