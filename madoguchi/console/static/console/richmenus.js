// The rich-menu editor: a live preview of the image with the chosen grid's cells drawn over it,
// numbered and labelled as the cell fields below; fields of cells the grid does not have hide.
"use strict";

(() => {
  const form = document.querySelector("[data-richmenu-editor]");
  if (!form) return;
  const image = form.querySelector("[data-preview-image]");
  const overlay = form.querySelector("[data-preview-cells]");
  const preview = form.querySelector("[data-preview]");
  const fileInput = form.querySelector("input[type=file][name=image]");
  let objectUrl = null;

  function grid() {
    const chosen = form.querySelector("input[name=grid]:checked");
    if (!chosen) return null;
    return {
      width: Number(chosen.dataset.width),
      height: Number(chosen.dataset.height),
      cells: chosen.dataset.cells.split(";").map((cell) => cell.split(",").map(Number)),
    };
  }

  function draw() {
    const g = grid();
    if (!g) return;
    preview.style.aspectRatio = `${g.width} / ${g.height}`;
    overlay.replaceChildren();
    g.cells.forEach(([x, y, w, h], index) => {
      const box = document.createElement("div");
      box.className = "cell";
      box.dataset.testid = "preview-cell";
      box.style.left = `${(x / g.width) * 100}%`;
      box.style.top = `${(y / g.height) * 100}%`;
      box.style.width = `${(w / g.width) * 100}%`;
      box.style.height = `${(h / g.height) * 100}%`;
      const label = form.querySelector(`#cell-${index}-label`);
      box.textContent = `${index + 1}${label && label.value ? ` ${label.value}` : ""}`;
      overlay.appendChild(box);
    });
    form.querySelectorAll("[data-cell]").forEach((item) => {
      item.hidden = Number(item.dataset.cell) >= g.cells.length;
    });
  }

  form.addEventListener("change", (event) => {
    if (event.target === fileInput && fileInput.files.length) {
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      objectUrl = URL.createObjectURL(fileInput.files[0]);
      image.src = objectUrl;
    }
    draw();
  });
  form.addEventListener("input", (event) => {
    if (event.target.matches("[data-cell-label]")) draw();
  });
  draw();
})();
