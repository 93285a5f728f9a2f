// Progressive enhancement of catalog pages: every page works without this file.
// The quantity stepper: "−" and "+" buttons beside the number input (which stays a plain
// input without JavaScript), kept within its min and max.
(function () {
  "use strict";
  function setUp(stepper) {
    var input = stepper.querySelector("input[type=number]");
    if (!input) { return; }
    stepper.querySelectorAll("[data-step]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var min = parseInt(input.min || "1", 10);
        var max = parseInt(input.max || "999", 10);
        var value = parseInt(input.value || String(min), 10);
        if (isNaN(value)) { value = min; }
        value = Math.min(max, Math.max(min, value + parseInt(button.getAttribute("data-step"), 10)));
        input.value = String(value);
        input.dispatchEvent(new Event("change", { bubbles: true }));
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-stepper]").forEach(setUp);
  });
})();
