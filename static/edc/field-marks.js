// Query and source-data-verification markers inside each field: the server renders them in a hidden
// list (templates/monitoring/_field_marks.html, one [data-marks-for=name] per field); each is moved
// beside the label of its field, so the monitor's questions sit where the value is.
(function () {
  "use strict";
  function place() {
    var source = document.querySelector("[data-field-marks]");
    if (!source) return;
    Array.prototype.slice.call(source.querySelectorAll("[data-marks-for]")).forEach(function (marks) {
      var name = marks.getAttribute("data-marks-for");
      var input = document.querySelector("#entry-form [name='" + name.replace(/'/g, "") + "']");
      if (!input) return;
      var label = (input.id && document.querySelector("label[for='" + input.id + "']")) ||
        input.closest(".mb-3, td, .form-check") || input.parentElement;
      var slot = label.tagName && label.tagName.toLowerCase() === "label" ? label : label.firstElementChild || label;
      slot.insertAdjacentElement(slot === label ? "beforeend" : "afterend", marks);
      marks.hidden = false;
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", place);
  else place();
})();
