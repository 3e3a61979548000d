// Search page behaviour: "why?" heat maps, drop an image to search, switch clips / by video.
// Playing (clips, chips, strips) is in player.js and heat_strip.js.
(function () {
  // Translated words from the page's JSON data block (templates/base.html, {% js_strings %}).
  const words = JSON.parse((document.getElementById("js-strings") || {}).textContent || "{}");
  const dialog = document.getElementById("player-dialog");
  const player = document.getElementById("player");
  const caption = document.getElementById("player-caption");
  const heatmap = document.getElementById("heatmap");

  document.querySelectorAll(".explain").forEach((btn) => {
    btn.addEventListener("click", () => {
      player.pause();
      player.hidden = true;
      heatmap.hidden = false;
      heatmap.src = btn.dataset.url;
      caption.textContent = words.heatmap_caption || "Where the frame matches the query (red = strongest)";
      dialog.showModal();
    });
  });

  const drop = document.getElementById("drop");
  const input = document.getElementById("image");
  const form = document.getElementById("search-form");
  if (drop && input && form) {
    ["dragenter", "dragover"].forEach((e) => drop.addEventListener(e, (ev) => { ev.preventDefault(); drop.classList.add("over"); }));
    ["dragleave", "drop"].forEach((e) => drop.addEventListener(e, () => drop.classList.remove("over")));
    drop.addEventListener("drop", (ev) => {
      ev.preventDefault();
      if (ev.dataTransfer.files.length) { input.files = ev.dataTransfer.files; form.requestSubmit(); }
    });
    input.addEventListener("change", () => { if (input.files.length) form.requestSubmit(); });
  }

  // Switching the view repeats the current text search at once (an image would have to be dropped again).
  const q = document.getElementById("q");
  if (form && q) {
    form.querySelectorAll("input[name=group_by]").forEach((radio) => {
      radio.addEventListener("change", () => { if (q.value.trim() && document.getElementById("results")) form.requestSubmit(); });
    });
  }
})();
