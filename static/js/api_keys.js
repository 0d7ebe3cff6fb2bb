/* The API-keys page's collection picker: ticking a collection chooses "Only the ticked
   collections", and choosing "All collections" unticks them, so the form never sends both
   (the server refuses that with a sentence when scripts are off). */
(function () {
  "use strict";

  const picker = document.getElementById("key-collections");
  if (!picker) return;
  const choices = picker.querySelectorAll('input[name="reads"]');
  const boxes = picker.querySelectorAll('input[name="collection_ids"]');

  boxes.forEach((box) => box.addEventListener("change", () => {
    if (!box.checked) return;
    choices.forEach((choice) => { choice.checked = choice.value === "chosen"; });
  }));
  choices.forEach((choice) => choice.addEventListener("change", () => {
    if (choice.checked && choice.value === "all") boxes.forEach((box) => { box.checked = false; });
  }));
})();
