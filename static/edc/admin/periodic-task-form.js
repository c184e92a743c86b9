// django-celery-beat's periodic-task form, as its own inline script did it: the chosen crontab
// schedule is spelled out under the crontab field (the Content-Security-Policy runs no inline script).
(function () {
  var data = document.getElementById("readable-crontabs");
  var help = document.querySelector(".field-crontab .help");
  var translation = document.querySelector(".field-crontab_translation");
  var select = document.getElementById("id_crontab");
  if (translation) translation.style.display = "none";
  if (!data || !help || !select) return;
  var readable = JSON.parse(data.textContent);
  var original = help.textContent;
  select.addEventListener("change", function () {
    help.textContent = original;
    var text = readable[select.value];
    if (text) {
      help.appendChild(document.createElement("br"));
      help.appendChild(document.createTextNode("Translation: " + text));
    }
  });
})();
