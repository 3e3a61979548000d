// Collection page: while items are still being ingested the page includes this script, which reloads
// the page after a while so their states update (a static file: the Content-Security-Policy runs no inline script).
(function () {
  const delay = parseInt((document.currentScript && document.currentScript.dataset.reloadMs) || "2000", 10);
  setTimeout(() => location.reload(), delay);
})();
