// Repeating rows of a form's table (a Django formset, templates/crfs/_rows.html): "Add a row" copies
// the table's empty row (<template data-row-template>) with the next index and counts it in
// TOTAL_FORMS; "Remove" on a row not saved yet clears and hides it (an empty row is ignored by the
// server), on a saved row it ticks the row's "remove" box (kept in the audit trail with the reason).
(function () {
  "use strict";

  function addRow(fieldset) {
    var template = fieldset.querySelector("template[data-row-template]");
    var total = fieldset.querySelector("input[name$='-TOTAL_FORMS']");
    if (!template || !total) return;
    var index = parseInt(total.value, 10) || 0;
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    var body = fieldset.querySelector("tbody");
    body.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    var row = body.lastElementChild;
    var first = row && row.querySelector("input:not([type=hidden]), select, textarea");
    if (first) first.focus();
  }

  function removeRow(button) {
    var row = button.closest("tr");
    if (!row) return;
    var saved = row.querySelector("input[name$='-id']");
    var box = row.querySelector("input[name$='-DELETE']");
    if (saved && saved.value && box) {
      box.checked = !box.checked;
      row.classList.toggle("text-decoration-line-through", box.checked);
      row.classList.toggle("table-danger", box.checked);
      return;
    }
    row.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (el.type === "hidden") return;
      if (el.type === "checkbox" || el.type === "radio") el.checked = el.defaultChecked;
      else if (el.tagName.toLowerCase() === "select") el.selectedIndex = -1;
      else el.value = "";
    });
    row.hidden = true;
  }

  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-row]");
    if (add) { event.preventDefault(); addRow(add.closest("[data-formset]")); return; }
    var remove = event.target.closest("[data-remove-row]");
    if (remove) { event.preventDefault(); removeRow(remove); }
  });
})();
