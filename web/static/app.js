// datashare's only script. Every page works without it; it only moves the
// focus to a form's error summary so that a screen reader announces it.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
