// Heat strips: a click on the strip plays its video from the clicked second (x fraction x duration);
// a matching moment's link (keyboard: Tab, Enter) plays from the moment's start here, not at its href
// (the video file itself, for browsers without this script).
(function () {
  const api = window.videosearchPlayer;
  if (!api) return;
  // Translated words from the page's JSON data block (templates/base.html, {% js_strings %}).
  const words = JSON.parse((document.getElementById("js-strings") || {}).textContent || "{}");

  function timeAt(strip, clientX) {
    const box = strip.querySelector(".heat-track").getBoundingClientRect();
    const fraction = Math.min(Math.max((clientX - box.left) / box.width, 0), 1);
    return fraction * parseFloat(strip.dataset.duration);
  }

  document.querySelectorAll(".heat-strip").forEach((strip) => {
    const track = strip.querySelector(".heat-track");
    strip.addEventListener("click", (ev) => {
      const moment = ev.target.closest(".moment");
      // Moment links take no pointer events (CSS), so a click on one comes from the keyboard.
      if (moment) ev.preventDefault();
      const start = moment ? parseFloat(moment.dataset.start) : timeAt(strip, ev.clientX);
      const end = moment ? parseFloat(moment.dataset.end) : null;
      if (!moment && !track.contains(ev.target)) return;  // the axis labels
      api.play(strip.dataset.videoUrl, start, end);
    });
    track.addEventListener("mousemove", (ev) => {
      track.title = (words.play_from_time || "Play from {time}").replace("{time}", api.timecode(timeAt(strip, ev.clientX)));
    });
  });
})();
