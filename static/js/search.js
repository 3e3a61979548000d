// Search page behaviour: play a clip from its start, show "why?" heat maps, drop an image to search.
(function () {
  const dialog = document.getElementById("player-dialog");
  const player = document.getElementById("player");
  const caption = document.getElementById("player-caption");
  const heatmap = document.getElementById("heatmap");

  function openPlayer(item) {
    const start = parseFloat(item.dataset.start), end = parseFloat(item.dataset.end);
    heatmap.hidden = true;
    player.hidden = false;
    player.src = `${item.dataset.videoUrl}#t=${start.toFixed(2)},${end.toFixed(2)}`;
    caption.textContent = `${start.toFixed(1)}–${end.toFixed(1)} s`;
    dialog.showModal();
    player.play().catch(() => {});
  }

  document.querySelectorAll(".result.clip .play").forEach((btn) => {
    btn.addEventListener("click", () => openPlayer(btn.closest(".result")));
  });

  document.querySelectorAll(".explain").forEach((btn) => {
    btn.addEventListener("click", () => {
      player.pause();
      player.hidden = true;
      heatmap.hidden = false;
      heatmap.src = btn.dataset.url;
      caption.textContent = "Where the frame matches the query (red = strongest)";
      dialog.showModal();
    });
  });

  if (dialog) dialog.addEventListener("close", () => player.pause());

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
})();
