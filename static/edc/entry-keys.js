// Data entry from the keyboard, on every page with an entry form (form[data-once]):
// - the first field (or the first one in error) has the focus when the page opens;
// - Enter in a one-line field moves to the next field instead of submitting a half-typed form;
// - Ctrl+Enter (⌘+Enter) presses the form's keyboard button ([data-keyboard-submit]: complete, then
//   the next form of the visit), else "Save and mark complete"; that button also has accesskey "s".
(function () {
  "use strict";
  var FIELDS = "input:not([type=hidden]):not([type=submit]):not([type=button]):not([disabled]):not([readonly])," +
    "select:not([disabled]), textarea:not([disabled]):not([readonly])";

  function entryForm() {
    return document.querySelector("form#entry-form") || document.querySelector("main form[data-once]");
  }

  function visible(el) {
    return !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  }

  function fields(form) {
    return Array.prototype.filter.call(form.querySelectorAll(FIELDS), visible);
  }

  function focusFirst() {
    var form = entryForm();
    if (!form || document.querySelector("[autofocus]")) return;
    var all = fields(form);
    var invalid = all.filter(function (el) { return el.classList.contains("is-invalid"); });
    var target = invalid[0] || all[0];
    if (target) target.focus({ preventScroll: !invalid.length });
  }

  function keyboardButton(form) {
    return form.querySelector("[data-keyboard-submit]") || form.querySelector("button[name=complete]");
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.isComposing) return;
    var el = event.target;
    var form = el && el.form;
    if (!form || form !== entryForm()) return;
    if (event.ctrlKey || event.metaKey) {
      var button = keyboardButton(form);
      if (button) {
        event.preventDefault();
        if (form.requestSubmit) form.requestSubmit(button); else button.click();
      }
      return;
    }
    var tag = el.tagName.toLowerCase();
    if (tag === "textarea" || tag === "button" || el.type === "submit" || el.type === "button") return;
    event.preventDefault(); // never submit a half-typed form: go to the next field
    // The next value field: a field's "if missing, why" choice (name missing__<field>) is reached with
    // Tab, not with Enter after typing the value.
    var all = fields(form);
    var next = all.slice(all.indexOf(el) + 1).filter(function (f) {
      return (f.name || "").indexOf("missing__") !== 0;
    })[0];
    if (next) next.focus();
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", focusFirst);
  else focusFirst();
})();
