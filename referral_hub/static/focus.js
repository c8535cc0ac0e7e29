// Where focus starts on a page that answers a submitted form (WCAG 2.4.3, 3.3.1):
// on a refused form, its error summary (or the sign-in page's alert), so that the
// reader hears what to correct and can follow its links to the fields; after an action
// (Terima, Simpan, ...), the message saying what happened. Without scripts the summary
// still sits first in the page and the title starts with "Kesalahan:".
document.addEventListener("DOMContentLoaded", function () {
  var target = document.getElementById("error-summary") || document.getElementById("login-error");
  if (!target) {
    var flashes = document.getElementById("flashes");
    if (flashes && flashes.querySelector(".flash")) {
      target = flashes;
    }
  }
  if (target) {
    if (!target.hasAttribute("tabindex")) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus();
  }
});
