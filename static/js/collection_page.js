// Collection page: drag-and-drop (or picked) uploads, one request per file to the REST API with a bar of the
// bytes sent; then each item's live stage, polled from the page's cards endpoint while anything is in progress;
// delete / re-ingest / rebuild with a confirmation; arrow keys between the grid's cards; the index size.
// A static file: the Content-Security-Policy runs no inline script. Strings come from the template (data-t-*).
(function () {
  "use strict";
  const root = document.getElementById("collection");
  if (!root) return;
  const grid = document.getElementById("grid");
  const message = document.getElementById("collection-message");
  const uploadList = document.getElementById("upload-list");
  const t = (name, arg) => (root.dataset["t" + name] || name).replace("{name}", arg === undefined ? "" : arg);
  const POLL_MS = 1500;
  const PARALLEL_UPLOADS = 2;
  const tracked = new Set();  // "video-12" keys of items whose stage is still changing
  let pollTimer = null;

  function say(text, isError) {
    message.textContent = text;
    message.classList.toggle("error", !!isError);
  }

  function errorOf(body, fallback) {
    return (body && typeof body.error === "string" && body.error) || fallback;
  }

  async function jsonOf(response) {
    try { return await response.json(); } catch (e) { return null; }
  }

  // --- the index size (the collection API reads it from the index) -------------------------------------------
  async function showIndexSize() {
    const target = document.getElementById("index-size");
    try {
      const response = await fetch(root.dataset.collectionApi, {credentials: "same-origin", headers: {Accept: "application/json"}});
      if (!response.ok) throw new Error(String(response.status));
      const body = await response.json();
      const vectors = body.index ? body.index.vectors : 0;
      target.textContent = vectors ? vectors.toLocaleString() + " " + t("Vectors") : t("EmptyIndex");
      target.dataset.vectors = String(vectors);
    } catch (e) {
      target.textContent = "—";
    }
    delete target.dataset.loading;
  }

  // --- live stages -----------------------------------------------------------------------------------------------
  function cardOf(key) { return document.getElementById("card-" + key); }

  function placeCard(html, key) {
    const holder = document.createElement("ul");
    holder.innerHTML = html.trim();
    const fresh = holder.firstElementChild;
    for (const link of fresh.querySelectorAll(".card-link:not([href])")) link.tabIndex = 0;
    const old = cardOf(key);
    if (old) {
      const focused = old.contains(document.activeElement) ? document.activeElement : null;
      const focusKey = focused ? (focused.dataset.action || "link") : null;
      old.replaceWith(fresh);
      if (focusKey) {
        const again = focusKey === "link" ? fresh.querySelector(".card-link") : fresh.querySelector(`[data-action="${focusKey}"]`);
        if (again) again.focus();
      }
    } else {
      grid.prepend(fresh);  // a new upload: first, as the grid is newest first
      document.getElementById("grid-empty").hidden = true;
    }
    return fresh;
  }

  function mirrorInUploads(key, card) {
    const row = uploadList && uploadList.querySelector(`[data-key="${key}"]`);
    if (!row) return;
    row.dataset.status = card.dataset.status;
    row.querySelector(".stage").textContent = card.querySelector(".card-state").textContent.trim();
    row.classList.toggle("failed", card.dataset.status === "failed");
  }

  function idsOf(keys, kind) {
    return keys.filter((k) => k.startsWith(kind + "-")).map((k) => k.slice(kind.length + 1)).join(",");
  }

  async function poll() {
    pollTimer = null;
    if (!tracked.size) return;
    const asked = [...tracked];  // items tracked while this request runs are asked about next time
    const url = `${root.dataset.cardsUrl}?video=${idsOf(asked, "video")}&photo=${idsOf(asked, "photo")}`;
    try {
      const response = await fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}});
      if (response.ok) {
        const body = await response.json();
        const seen = new Set();
        for (const item of body.cards) {
          seen.add(item.key);
          const card = placeCard(item.html, item.key);
          mirrorInUploads(item.key, card);
          if (!item.active) tracked.delete(item.key);
        }
        for (const key of asked) if (!seen.has(key)) tracked.delete(key);  // deleted meanwhile
      }
    } catch (e) { /* the server is restarting, say: try again at the next tick */ }
    if (tracked.size) schedule(POLL_MS);
    else showIndexSize();  // everything settled: the index changed
  }

  function schedule(delay) {
    if (pollTimer === null) pollTimer = setTimeout(poll, delay);
  }

  function track(key) {
    tracked.add(key);
    if (pollTimer !== null) clearTimeout(pollTimer);
    pollTimer = null;
    schedule(0);
  }

  // --- uploads ---------------------------------------------------------------------------------------------------
  const waiting = [];
  let running = 0;

  function uploadRow(file) {
    const row = document.createElement("li");
    row.className = "upload";
    const name = document.createElement("span");
    name.className = "upload-name";
    name.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", file.name);
    const sent = document.createElement("span");
    sent.className = "sent";
    sent.textContent = "0%";
    const stage = document.createElement("span");
    stage.className = "stage";
    stage.textContent = t("Waiting");
    const note = document.createElement("span");
    note.className = "note";  // what the server said of this file (kept while the queue is down, a duplicate)
    row.append(name, bar, sent, stage, note);
    uploadList.prepend(row);
    return row;
  }

  function endpointFor(kind) {
    return kind === "photo" ? root.dataset.photosUrl : root.dataset.videosUrl;
  }

  function send(file, row, kind, retried) {
    const xhr = new XMLHttpRequest();
    const bar = row.querySelector("progress");
    const sent = row.querySelector(".sent");
    const stage = row.querySelector(".stage");
    stage.textContent = t("Sending");
    xhr.open("POST", endpointFor(kind));
    xhr.setRequestHeader("X-CSRFToken", root.dataset.csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.responseType = "json";
    xhr.upload.onprogress = (event) => {
      if (!event.lengthComputable) return;
      const percent = Math.floor((event.loaded / event.total) * 100);
      bar.value = percent;
      sent.textContent = percent + "%";
    };
    xhr.onload = () => {
      const body = xhr.response;
      const other = kind === "photo" ? "video" : "photo";
      if (xhr.status === 400 && !retried && /upload it as a (photo|video)/.test(errorOf(body, ""))) {
        send(file, row, other, true);  // the content is the other kind: its endpoint takes it
        return;
      }
      const item = xhr.status === 503 ? body && body.item : body;
      if ((xhr.status === 200 || xhr.status === 201 || xhr.status === 503) && item && item.id) {
        bar.value = 100;
        sent.textContent = "100%";
        row.dataset.sent = "100";
        const key = `${kind}-${item.id}`;
        row.dataset.key = key;
        row.dataset.status = item.status;
        stage.textContent = t("Sent");
        row.querySelector(".note").textContent = xhr.status === 200 ? t("Duplicate") : (xhr.status === 503 ? errorOf(body, "") : "");
        track(key);
      } else {
        row.classList.add("failed");
        row.dataset.status = "refused";
        stage.textContent = errorOf(body, t("Failed") + " (" + xhr.status + ")");
      }
      finished();
    };
    xhr.onerror = () => {
      row.classList.add("failed");
      row.dataset.status = "refused";
      stage.textContent = t("Network");
      finished();
    };
    xhr.send(formData(file));
  }

  function formData(file) {
    const data = new FormData();
    data.append("collection", root.dataset.collection);
    data.append("file", file, file.name);
    return data;
  }

  function finished() {
    running -= 1;
    next();
  }

  function next() {
    while (running < PARALLEL_UPLOADS && waiting.length) {
      const [file, row] = waiting.shift();
      running += 1;
      send(file, row, (file.type || "").startsWith("image/") ? "photo" : "video", false);
    }
  }

  function uploadAll(files) {
    for (const file of files) waiting.push([file, uploadRow(file)]);
    next();
  }

  const form = document.getElementById("upload");
  if (form) {
    const input = form.querySelector("input[type=file]");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (input.files.length) uploadAll([...input.files]);
      form.reset();
    });
    const hasFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes("Files");
    for (const name of ["dragenter", "dragover"]) {
      form.addEventListener(name, (event) => {
        if (!hasFiles(event)) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = "copy";
        form.classList.add("dragging");
      });
    }
    form.addEventListener("dragleave", (event) => {
      if (!form.contains(event.relatedTarget)) form.classList.remove("dragging");
    });
    form.addEventListener("drop", (event) => {
      event.preventDefault();
      form.classList.remove("dragging");
      if (event.dataTransfer.files.length) uploadAll([...event.dataTransfer.files]);
    });
    // a file dropped beside the zone must not make the browser leave the page to show it
    document.addEventListener("dragover", (event) => { if (hasFiles(event)) event.preventDefault(); });
    document.addEventListener("drop", (event) => { if (!form.contains(event.target)) event.preventDefault(); });
  }

  // --- delete / re-ingest / rebuild, each confirmed ---------------------------------------------------------------
  const dialog = document.getElementById("confirm-dialog");

  function confirmed(text) {
    if (!dialog || typeof dialog.showModal !== "function") return Promise.resolve(window.confirm(text));
    document.getElementById("confirm-text").textContent = text;
    dialog.returnValue = "";
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), {once: true});
      dialog.showModal();
      document.getElementById("confirm-cancel").focus();
    });
  }

  async function call(method, url) {
    const response = await fetch(url, {method, credentials: "same-origin",
      headers: {"X-CSRFToken": root.dataset.csrf, Accept: "application/json"}});
    return [response, response.status === 204 ? null : await jsonOf(response)];
  }

  async function act(button) {
    const card = button.closest(".card");
    const name = button.dataset.name;
    const deleting = button.dataset.action === "delete";
    if (!(await confirmed(t(deleting ? "ConfirmDelete" : "ConfirmReingest", name)))) { button.focus(); return; }
    button.disabled = true;
    try {
      const [response, body] = await call(deleting ? "DELETE" : "POST", button.dataset.url);
      if (deleting && response.status === 204) {
        const after = card.nextElementSibling || card.previousElementSibling;
        tracked.delete(card.dataset.key);
        card.remove();
        if (after) after.querySelector(".card-link").focus();
        say(t("Deleted", name));
        showIndexSize();
      } else if (!deleting && (response.status === 202 || response.status === 503)) {
        say(response.status === 503 ? errorOf(body, "") : t("ReingestQueued", name), response.status === 503);
        track(card.dataset.key);
      } else {
        say(errorOf(body, t("Failed") + " (" + response.status + ")"), true);
      }
    } catch (e) {
      say(t("Network"), true);
    }
    button.disabled = false;
  }

  grid.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (button) act(button);
  });

  const rebuild = document.getElementById("rebuild");
  if (rebuild) {
    rebuild.addEventListener("click", async () => {
      if (!(await confirmed(t("ConfirmRebuild")))) { rebuild.focus(); return; }
      rebuild.disabled = true;
      try {
        const [response, body] = await call("POST", rebuild.dataset.url);
        say(response.status === 202 ? t("RebuildQueued") : errorOf(body, t("Failed") + " (" + response.status + ")"),
            response.status !== 202);
      } catch (e) {
        say(t("Network"), true);
      }
      rebuild.disabled = false;
    });
  }

  // --- arrow keys move between the cards' links (Tab still walks every control) ------------------------------------
  grid.addEventListener("keydown", (event) => {
    const link = event.target.closest(".card-link");
    if (!link || event.altKey || event.ctrlKey || event.metaKey) return;
    const links = [...grid.querySelectorAll(".card-link")];
    const at = links.indexOf(link);
    const top = links[0].getBoundingClientRect().top;
    const columns = Math.max(1, links.filter((l) => Math.abs(l.getBoundingClientRect().top - top) < 2).length);
    const moves = {ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns, ArrowUp: -columns, Home: -at, End: links.length - 1 - at};
    if (!(event.key in moves)) return;
    const target = links[at + moves[event.key]];
    if (target) {
      event.preventDefault();
      target.focus();
    }
  });
  for (const link of grid.querySelectorAll(".card-link:not([href])")) link.tabIndex = 0;  // no file: still reachable

  // --- start -----------------------------------------------------------------------------------------------------
  for (const card of grid.querySelectorAll(".card[data-active]")) tracked.add(card.dataset.key);
  if (tracked.size) schedule(POLL_MS);
  showIndexSize();
})();
