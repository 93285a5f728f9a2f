// Progressive enhancement only: every page works without this file.
// 1. Wide screens show the header menu open (browsers without ::details-content).
// 2. "Copy" buttons of .copy-field copy the code next to them.
(function () {
  "use strict";
  var wide = window.matchMedia("(min-width: 72rem)");
  function syncMenu() {
    document.querySelectorAll("details.site-menu").forEach(function (menu) {
      if (wide.matches) { menu.open = true; }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    syncMenu();
    // Copy buttons are hidden in the markup (useless without JavaScript): show them here.
    if (navigator.clipboard) {
      document.querySelectorAll("[data-copy][hidden]").forEach(function (b) { b.hidden = false; });
    }
    if (wide.addEventListener) { wide.addEventListener("change", syncMenu); }
    document.addEventListener("click", function (event) {
      var button = event.target.closest("[data-copy]");
      if (!button) { return; }
      var field = button.closest(".copy-field");
      var source = field && field.querySelector("[data-copy-source], .code, input, output");
      if (!source || !navigator.clipboard) { return; }
      var text = (source.value !== undefined && source.tagName === "INPUT") ? source.value : source.textContent.trim();
      navigator.clipboard.writeText(text).then(function () {
        var label = button.getAttribute("data-copied") || "Copied";
        var original = button.textContent;
        button.textContent = label;
        setTimeout(function () { button.textContent = original; }, 2000);
        // Screen readers hear it from the page's live region ([data-copy-status]).
        var status = document.querySelector("[data-copy-status]");
        if (status) { status.textContent = ""; setTimeout(function () { status.textContent = label; }, 50); }
      });
    });
  });
})();
