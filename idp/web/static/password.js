// Show-password toggle and the "save?" confirmation (the form works without them too).
(function () {
  var form = document.getElementById("password-form");
  if (!form) return;
  var toggle = document.getElementById("show-passwords");
  toggle.addEventListener("change", function () {
    form.querySelectorAll("input[autocomplete$=password]").forEach(function (input) {
      input.type = toggle.checked ? "text" : "password";
    });
  });
  form.addEventListener("submit", function (event) {
    if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
  });
})();
