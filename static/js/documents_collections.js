/* Documents page, for owners and admins: the Move button of a row opens a dialog with the
   workspace's collections ticked as the document is now; Save sends them to
   PATCH /api/v1/documents/<id>/ and the row shows its new collections, or the dialog shows
   the API's sentence (none ticked, a collection deleted meanwhile). Uses DI.docs. */
(function () {
  "use strict";
  const DI = window.DI;
  const docs = DI.docs;
  const dialog = document.getElementById("move-dialog");
  if (!docs || !dialog) return;
  const form = document.getElementById("move-form");
  const error = document.getElementById("move-error");
  const boxes = Array.from(form.querySelectorAll('input[name="collection_ids"]'));
  let current = null;  // the row being moved

  function showError(message) {
    error.textContent = message;
    error.hidden = !message;
    boxes.forEach((box) => { if (message) box.setAttribute("aria-invalid", "true"); else box.removeAttribute("aria-invalid"); });
  }

  function open(row) {
    current = row;
    const ids = (row.getAttribute("data-collections") || "").split(",").filter(Boolean);
    boxes.forEach((box) => { box.checked = ids.includes(box.value); });
    document.getElementById("move-name").textContent = docs.nameOf(row);
    showError("");
    if (typeof dialog.showModal === "function") dialog.showModal();
    else dialog.setAttribute("open", "");
  }

  docs.body.addEventListener("click", (event) => {
    const button = event.target.closest('button[data-action="move"]');
    if (button) open(button.closest("tr"));
  });
  dialog.querySelector("[data-move-cancel]").addEventListener("click", () => dialog.close());

  // A row moved out of the collection the list is filtered by leaves the list.
  function leavesFilter(ids) {
    return docs.view.collection && !ids.includes(String(docs.view.collection));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const row = current;
    if (!row) return;
    const ids = boxes.filter((box) => box.checked).map((box) => Number(box.value));
    const save = form.querySelector('button[type="submit"]');
    save.disabled = true;
    const result = await DI.api(docs.view.api + row.getAttribute("data-id") + "/", { method: "PATCH", json: { collection_ids: ids } });
    save.disabled = false;
    if (!result.ok) { showError(result.message); return; }
    dialog.close();
    const name = docs.nameOf(row);
    docs.renderCollections(row, result.body);
    const now = (row.getAttribute("data-collections") || "").split(",").filter(Boolean);
    const sentence = name + " is now in " + (docs.collectionNames(now) || "no collection you read") + ".";
    if (leavesFilter(now)) {
      docs.removeRows([row], { row: row, action: "move" });
      docs.notify([{ name: "\u201c" + name + "\u201d" }, " left this collection: it is now in " + docs.collectionNames(now) + "."]);
    }
    docs.announce(sentence);
  });
})();
