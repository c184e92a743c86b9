// Disable a form's submit buttons while it is being sent (a comfort: the server's one-time submission
// key, edc.idempotency, is the guarantee). The button pressed is kept as a hidden field, since a disabled
// button is not sent and the server reads which one was pressed ("draft" or "complete").
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!(form instanceof HTMLFormElement) || (form.method || "").toLowerCase() !== "post") return;
  if (form.dataset.submitting === "1") { event.preventDefault(); return; }
  form.dataset.submitting = "1";
  var pressed = event.submitter;
  if (pressed && pressed.name) {
    var copy = document.createElement("input");
    copy.type = "hidden"; copy.name = pressed.name; copy.value = pressed.value || "1";
    form.appendChild(copy);
  }
  setTimeout(function () {
    form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]").forEach(function (b) {
      b.disabled = true; b.setAttribute("aria-disabled", "true");
    });
  }, 0);
});
// Back/forward cache: a page shown again must be usable again.
window.addEventListener("pageshow", function () {
  document.querySelectorAll("form[data-submitting]").forEach(function (form) {
    delete form.dataset.submitting;
    form.querySelectorAll("button, input[type=submit]").forEach(function (b) { b.disabled = false; });
  });
});
