// Progressive enhancement: a Print button where scripts run; the browser's own
// Print command (Ctrl+P) works on the same page without it.
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("print-page");
  if (!button) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    window.print();
  });
});
