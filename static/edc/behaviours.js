// Behaviours that templates ask for with data- attributes. The Content-Security-Policy (settings,
// CONTENT_SECURITY_POLICY) runs no inline script: no <script> body in a template, no onclick= or
// onchange= attribute, no style="" attribute. One listener on the document serves every element,
// including those htmx swaps in later.

// <button data-print>: print the page.
document.addEventListener("click", function (event) {
  var button = event.target instanceof Element && event.target.closest("[data-print]");
  if (button) { event.preventDefault(); window.print(); }
});

// <select data-submit-on-change>: a filter that applies as soon as it is chosen (a <noscript> button
// beside it does the same without script).
document.addEventListener("change", function (event) {
  var field = event.target;
  if (!(field instanceof Element) || !field.matches("[data-submit-on-change]") || !field.form) return;
  if (field.form.requestSubmit) field.form.requestSubmit(); else field.form.submit();
});

// <div class="progress-bar" data-progress="40">: the bar's width, set through the style object (allowed
// by the policy, unlike a style="" attribute); again whenever htmx swaps in new content.
function showProgress(root) {
  var bars = root.querySelectorAll ? root.querySelectorAll("[data-progress]") : [];
  if (root.matches && root.matches("[data-progress]")) bars = [root].concat(Array.from(bars));
  Array.prototype.forEach.call(bars, function (bar) {
    var value = Math.max(0, Math.min(100, Number(bar.dataset.progress) || 0));
    bar.style.width = value + "%";
  });
}
document.addEventListener("DOMContentLoaded", function () { showProgress(document); });
document.addEventListener("htmx:load", function (event) { showProgress(event.target); });
