// Copy buttons for the values shown once.
document.querySelectorAll("button.copy").forEach(function (button) {
  button.addEventListener("click", function () {
    var text = document.getElementById(button.getAttribute("data-copy")).textContent;
    if (navigator.clipboard) navigator.clipboard.writeText(text);
  });
});
