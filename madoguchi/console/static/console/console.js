// Selects marked data-autosubmit submit their form on change (no inline script: the CSP forbids it).
"use strict";
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-autosubmit]");
  if (select && select.form) select.form.submit();
});
