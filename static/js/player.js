// Play a video from a given second in the page's one player (#player): the search page's dialog,
// or the video page's inline player. Any element with data-play (and data-video-url, data-start,
// optional data-end, data-caption) plays on click; other scripts call window.videosearchPlayer.play.
(function () {
  const player = document.getElementById("player");
  if (!player) return;
  // Translated words from the page's JSON data block (templates/base.html, {% js_strings %}).
  const words = JSON.parse((document.getElementById("js-strings") || {}).textContent || "{}");
  const dialog = player.closest("dialog");
  const caption = document.getElementById("player-caption");
  let pendingStart = null; // seek target while a new source loads
  let stopAt = null; // end of the clip being played, if bounded

  function timecode(seconds) {
    const s = Math.max(seconds, 0), m = Math.floor(s / 60), rest = s - 60 * m;
    return `${m}:${rest < 10 ? "0" : ""}${rest.toFixed(1)}`;
  }

  // Seek explicitly once the metadata is there: a media fragment (#t=) alone is not always honoured
  // (Chromium ignored it on an MP4 whose index is at the end of the file). The fragment stays as a hint.
  player.addEventListener("loadedmetadata", () => {
    if (pendingStart !== null) { player.currentTime = pendingStart; pendingStart = null; }
  });
  player.addEventListener("timeupdate", () => {
    if (stopAt !== null && player.currentTime >= stopAt) { player.pause(); stopAt = null; }
  });

  function play(url, start, end, label) {
    const bounded = end !== null && end !== undefined && end > start;
    const heatmap = document.getElementById("heatmap");
    if (heatmap) heatmap.hidden = true;
    player.hidden = false;
    stopAt = bounded ? end : null;
    if (player.dataset.base === url && player.readyState >= 1) {
      player.currentTime = start;
    } else {
      player.dataset.base = url;
      pendingStart = start;
      player.src = `${url}#t=${start.toFixed(2)}`;
    }
    if (caption) caption.textContent = label || (bounded ? `${timecode(start)}–${timecode(end)}` : (words.from_time || "from {time}").replace("{time}", timecode(start)));
    if (dialog && !dialog.open) dialog.showModal();
    if (!dialog) player.scrollIntoView({ block: "nearest" }); // the video page: a frame far down the filmstrip
    player.play().catch(() => {});
  }

  document.addEventListener("click", (ev) => {
    const el = ev.target.closest("[data-play]");
    if (!el) return;
    if (el.tagName === "A") ev.preventDefault(); // a link (the video page's words) plays here; its href stays for a new tab
    const end = el.dataset.end !== undefined ? parseFloat(el.dataset.end) : null;
    play(el.dataset.videoUrl, parseFloat(el.dataset.start), end, el.dataset.caption);
  });
  if (dialog) {
    // Keyboard users land back where they were: the modal dialog (Escape or Close shuts it) hands the
    // focus back to the element that opened it, whichever script opened it (a result, a chip, "why?").
    // Noted on every click before the handlers that open the dialog run (capture phase): the focused
    // element then is the button or link that was clicked or pressed (the body after a click on a strip).
    let opener = null;
    document.addEventListener("click", () => { if (!dialog.open) opener = document.activeElement; }, true);
    dialog.addEventListener("close", () => {
      player.pause();
      if (opener && opener !== document.body && opener.isConnected) opener.focus({ preventScroll: true });
      opener = null;
    });
  }

  window.videosearchPlayer = { play, timecode };
})();
