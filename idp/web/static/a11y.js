// After a refused submit the page says why in #form-error (the error summary, tied to its
// fields by aria-describedby): focus it, so that a screen reader reads it first and a keyboard
// user goes on from there to the fields.
(function () {
  var summary = document.getElementById("form-error");
  if (!summary) return;
  summary.setAttribute("tabindex", "-1");
  summary.focus();
})();
