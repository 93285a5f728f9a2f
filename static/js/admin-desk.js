// The claims desk: picking a canned reply fills the reply box (texts from the page's JSON).
document.addEventListener("DOMContentLoaded", function () {
  var data = document.getElementById("canned-replies");
  var select = document.querySelector("select[data-fill]");
  if (!data || !select) return;
  var replies = JSON.parse(data.textContent);
  select.addEventListener("change", function () {
    var target = document.getElementById(select.getAttribute("data-fill"));
    if (target && replies[select.value]) target.value = replies[select.value];
  });
});
