// The imgpipe page: upload a CSV, follow its progress through the event stream, show each row's
// images as they finish, download the output CSV. Plain browser JavaScript, no build step.
// Every URL is relative, so the page also works behind a proxy that serves imgpipe under a path.
"use strict";

// Row details come one page at a time (GET /status/{id}?rows=true&offset=…&limit=…), so a
// request of a million rows costs the page no more than one of a hundred.
const PAGE_ROWS = 100;
const FINISHED = new Set(["completed", "completed_with_errors", "failed"]);
const STATUS_WORDS = {
  queued: "queued",
  processing: "processing",
  completed: "completed",
  completed_with_errors: "completed with errors",
  failed: "failed",
};

const byId = (id) => document.getElementById(id);
const form = byId("upload-form");
const fileInput = byId("csv-file");
const dropZone = byId("drop-zone");
const uploadButton = byId("upload-button");

let chosenFile = null;
// The request on screen: {requestId, totalRows and settledRows (from the latest status), offset
// (the page asked for), shownOffset (the page on screen, null before the first), shownRows (Map of
// row -> {status, node}), settledWhenShown (settledRows when the page on screen was fetched),
// refreshing, refreshAgain}.
let watched = null;

function authHeaders() {
  const key = byId("api-key").value.trim();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

function choose(file) {
  chosenFile = file;
  byId("drop-hint").hidden = Boolean(file);
  byId("chosen-file").hidden = !file;
  byId("chosen-file").textContent = file ? `${file.name} (${formatBytes(file.size)})` : "";
  uploadButton.disabled = !file;
}

function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(2)} MB`;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text; // never innerHTML: cells hold user data
  return node;
}

// ---- problems -------------------------------------------------------------------------------

function showProblem(title, problems) {
  byId("problem-title").textContent = title;
  const list = byId("problem-list");
  list.replaceChildren();
  for (const problem of problems) {
    const item = element("li");
    if (problem.line !== null && problem.line !== undefined) {
      const where = problem.column ? `Line ${problem.line}, ${problem.column}` : `Line ${problem.line}`;
      item.append(element("span", "line-number", `${where}: `));
    }
    item.append(problem.message);
    list.append(item);
  }
  byId("problem").hidden = false;
}

function hideProblem() {
  byId("problem").hidden = true;
}

async function errorBody(response) {
  try {
    return await response.json();
  } catch {
    return { message: `${response.status} ${response.statusText}` };
  }
}

// ---- upload ---------------------------------------------------------------------------------

async function upload(event) {
  event.preventDefault();
  if (!chosenFile) return;
  hideProblem();
  uploadButton.disabled = true;
  uploadButton.textContent = "Uploading…";
  const body = new FormData();
  body.append("file", chosenFile, chosenFile.name);
  for (const box of document.querySelectorAll("#preset-options input:checked")) body.append("presets", box.value);
  try {
    const response = await fetch("upload", { method: "POST", body, headers: authHeaders() });
    const answer = await errorBody(response);
    if (response.status === 202) {
      watch(answer.request_id);
      return;
    }
    if (answer.error === "csv_rejected") showProblem(`${chosenFile.name} was rejected`, answer.problems);
    else showProblem(answer.message, []);
  } catch (error) {
    showProblem(`The upload did not reach imgpipe: ${error.message}`, []);
  } finally {
    uploadButton.textContent = "Upload";
    uploadButton.disabled = !chosenFile;
  }
}

// ---- progress -------------------------------------------------------------------------------

function watch(requestId) {
  watched = {
    requestId,
    totalRows: 0,
    settledRows: 0,
    offset: 0,
    shownOffset: null,
    shownRows: new Map(),
    settledWhenShown: 0,
    refreshing: false,
    refreshAgain: false,
  };
  form.hidden = true;
  byId("request-id").textContent = requestId;
  byId("progress").hidden = false;
  byId("progress").className = "";
  byId("finished-actions").hidden = true;
  byId("rows").hidden = true;
  byId("rows").tBodies[0].replaceChildren();
  byId("row-pager").hidden = true;
  followEvents(watched);
}

// EventSource cannot send an Authorization header, so the stream is read with fetch.
async function followEvents(target) {
  let finished = false;
  while (!finished && watched === target) {
    try {
      const response = await fetch(`status/${target.requestId}/events`, { headers: authHeaders() });
      if (!response.ok) {
        showProblem((await errorBody(response)).message, []);
        return;
      }
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffered = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += value;
        let end;
        while ((end = buffered.indexOf("\n\n")) >= 0) {
          const status = statusFromEvent(buffered.slice(0, end));
          buffered = buffered.slice(end + 2);
          if (status && watched === target) {
            showStatus(target, status);
            finished = FINISHED.has(status.status);
          }
        }
      }
    } catch {
      // The connection dropped (gateway restarted, network): pick the stream up again below.
    }
    if (!finished) await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function statusFromEvent(text) {
  const data = text
    .split("\n")
    .filter((line) => line.startsWith("data:"))
    .map((line) => line.slice(5).trimStart())
    .join("\n");
  return data ? JSON.parse(data) : null;
}

function showStatus(target, status) {
  const images = status.images;
  const settled = images.done + images.failed;
  const settledRows = status.rows.done + status.rows.failed;
  const percent = images.total ? Math.floor((100 * settled) / images.total) : 100;
  byId("progress-fill").style.width = `${percent}%`;
  byId("progress-bar").setAttribute("aria-valuenow", String(percent));
  byId("progress").className = status.status;
  const failed = images.failed ? `, ${images.failed} failed` : "";
  const stalled = status.stalled ? " — no progress for a while; imgpipe will retry it" : "";
  byId("progress-text").textContent =
    `${STATUS_WORDS[status.status]}: ${settled} of ${images.total} images${failed} · ` +
    `${settledRows} of ${status.rows.total} rows${stalled}`;
  showQueue(status.queue);
  showPresets(status.presets);
  const done = FINISHED.has(status.status);
  byId("finished-actions").hidden = !done;
  showExpiry(status.expires_at);
  target.totalRows = status.rows.total;
  target.settledRows = settledRows;
  if (pageIsOutdated(target, done)) refreshRows(target);
  showPager(target);
}

// Where a running request stands (GET /status's `queue`, null once it has finished): the rows
// of other requests it shares the processors with, its own rows not yet started, and its time left.
function showQueue(queue) {
  const text = byId("queue-text");
  text.hidden = !queue;
  if (!queue) return;
  const parts = [`${queue.rows_ahead.toLocaleString("en")} rows ahead`];
  if (queue.rows_waiting) parts.push(`${queue.rows_waiting.toLocaleString("en")} rows not started`);
  if (queue.estimated_finish_at) parts.push(`about ${timeLeft(queue.estimated_finish_at)} left`);
  text.textContent = parts.join(" · ");
}

// A finished request is kept for its retention (GET /status's `expires_at`), then deleted.
function showExpiry(expiresAt) {
  const when = expiresAt ? new Date(expiresAt) : null;
  byId("expiry-text").textContent = when
    ? `Kept until ${when.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" })}: ` +
      "download the CSV and its images before then."
    : "";
}

// Rounded as a person would say it: the estimate follows the pace of the last few seconds.
function timeLeft(finishAt) {
  const seconds = Math.max(1, (Date.parse(finishAt) - Date.now()) / 1000);
  if (seconds < 90) return `${Math.ceil(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

// The counts say how many rows finished, not which: any new one may be on the page on screen.
function pageIsOutdated(target, done) {
  if (target.shownOffset !== target.offset) return true;
  if (!pendingOnScreen(target)) return false; // a finished row does not change again
  return done || target.settledRows > target.settledWhenShown;
}

// One details request at a time; changes that arrive meanwhile (a status, a page turned) cause one
// more afterwards.
async function refreshRows(target) {
  if (target.refreshing) {
    target.refreshAgain = true;
    return;
  }
  target.refreshing = true;
  try {
    do {
      target.refreshAgain = false;
      const { offset, settledRows } = target;
      const page = `status/${target.requestId}?rows=true&offset=${offset}&limit=${PAGE_ROWS}`;
      const response = await fetch(page, { headers: authHeaders() });
      // A page turned meanwhile is already asked for again (refreshAgain): drop this one.
      if (response.ok && watched === target && offset === target.offset) {
        showRows(target, offset, (await response.json()).row_details);
        target.settledWhenShown = settledRows;
      }
    } while (target.refreshAgain && watched === target);
  } finally {
    target.refreshing = false;
  }
}

// ---- pages ----------------------------------------------------------------------------------

function turnPage(step) {
  const target = watched;
  target.offset += step * PAGE_ROWS;
  showPager(target);
  refreshRows(target);
}

// The buttons follow the page asked for, so that two quick clicks move two pages; the label
// follows the page on screen.
function showPager(target) {
  const pager = byId("row-pager");
  pager.hidden = target.shownOffset === null || target.totalRows <= PAGE_ROWS;
  if (pager.hidden) return;
  byId("previous-page").disabled = target.offset === 0;
  byId("next-page").disabled = target.offset + PAGE_ROWS >= target.totalRows;
  const last = target.shownOffset + target.shownRows.size;
  byId("page-label").textContent = `rows ${target.shownOffset + 1}–${last} of ${target.totalRows}`;
}

// ---- rows -----------------------------------------------------------------------------------

function showRows(target, offset, rows) {
  const table = byId("rows");
  const body = table.tBodies[0];
  // A page turned from further down should start at its top, not somewhere in its middle.
  const scrollToTop = target.shownOffset !== offset && table.getBoundingClientRect().top < 0;
  if (target.shownOffset !== offset) {
    body.replaceChildren();
    target.shownRows.clear();
    target.shownOffset = offset;
  }
  for (const row of rows) {
    const shown = target.shownRows.get(row.row);
    if (shown && shown.status === row.status) continue;
    const fresh = rowElement(row);
    if (shown) shown.node.replaceWith(fresh);
    else body.append(fresh);
    target.shownRows.set(row.row, { status: row.status, node: fresh });
  }
  table.hidden = rows.length === 0;
  showPager(target);
  if (scrollToTop) table.scrollIntoView();
}

function pendingOnScreen(target) {
  for (const shown of target.shownRows.values()) if (shown.status === "pending") return true;
  return false;
}

function rowElement(row) {
  const tr = element("tr");
  tr.dataset.row = String(row.row);
  tr.append(element("td", "", row.serial_number), element("td", "", row.product_name));
  const word = row.status === "done" ? "completed" : row.status;
  tr.append(element("td", `status-${word}`, word));
  const images = element("td");
  for (const image of row.images) images.append(imageElement(row.status, image));
  tr.append(images);
  return tr;
}

function thumbnail(source, description) {
  const img = element("img");
  img.src = source;
  img.alt = description;
  img.loading = "lazy";
  img.referrerPolicy = "no-referrer"; // input images live on other people's servers
  img.addEventListener("error", () => img.replaceWith(element("span", "thumbnail-missing", "no image")));
  return img;
}

// Where an output came from (the image's `origin`), as the row details say it.
const ORIGIN_TEXT = {
  fetched: "fetched",
  revalidated: "unchanged at the source",
  reused: "reused",
};

function imageElement(rowStatus, image) {
  const pair = element("div", "image-pair");
  pair.append(thumbnail(image.input_url, "input image"));
  if (image.output_url) {
    pair.append(element("span", "arrow", "→"), thumbnail(image.output_url, "output image"));
    const saved = image.bytes_in ? Math.round(100 * (1 - image.bytes_out / image.bytes_in)) : 0;
    const size = image.width ? `${image.width}×${image.height} · ` : "";
    pair.append(
      element(
        "span",
        "image-sizes",
        `${size}${formatBytes(image.bytes_in)} → ${formatBytes(image.bytes_out)} (${saved}% smaller)` +
          (image.origin ? ` · ${ORIGIN_TEXT[image.origin] ?? image.origin}` : ""),
      ),
    );
    for (const variant of image.variants ?? []) {
      const link = element("a", "variant", `${variant.preset} (${variant.format.toUpperCase()} ` +
        `${variant.width}×${variant.height}, ${formatBytes(variant.bytes_out)})`);
      link.href = variant.output_url;
      pair.append(link);
    }
  } else if (image.error) {
    pair.append(element("span", "image-error", `${image.error.code}: ${image.error.message}`));
  } else if (rowStatus === "pending") {
    pair.append(element("span", "image-sizes", "waiting…"));
  }
  return pair;
}

// ---- presets --------------------------------------------------------------------------------

function presetText(preset) {
  return `${preset.name}: ${preset.format.toUpperCase()} within ${preset.width}×${preset.height}, quality ${preset.quality}`;
}

// One checkbox per preset the gateway offers (GET /presets); none offered, no choice shown.
async function offerPresets() {
  try {
    const response = await fetch("presets");
    if (!response.ok) return;
    const presets = await response.json();
    const options = presets.map((preset) => {
      const label = element("label", "preset-option");
      const box = element("input");
      box.type = "checkbox";
      box.name = "presets";
      box.value = preset.name;
      label.append(box, ` ${presetText(preset)}`);
      return label;
    });
    byId("preset-options").replaceChildren(...options);
    byId("preset-choice").hidden = presets.length === 0;
  } catch {
    // The page works without presets: the JPEG is always made.
  }
}

function showPresets(presets) {
  const text = byId("presets-text");
  text.hidden = !presets || presets.length === 0;
  if (!text.hidden) text.textContent = `Also making: ${presets.map(presetText).join(" · ")}`;
}

// ---- download -------------------------------------------------------------------------------

// Fetched rather than linked, so that an API key travels in a header, never in a URL.
async function download() {
  const requestId = watched.requestId;
  const response = await fetch(`download/${requestId}`, { headers: authHeaders() });
  if (!response.ok) {
    showProblem((await errorBody(response)).message, []);
    return;
  }
  const link = element("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = `imgpipe-${requestId}.csv`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

function startOver() {
  watched = null;
  byId("progress").hidden = true;
  hideProblem();
  form.reset();
  choose(null);
  form.hidden = false;
}

// ---- wiring ---------------------------------------------------------------------------------

fileInput.addEventListener("change", () => choose(fileInput.files[0] || null));
for (const name of ["dragenter", "dragover"]) {
  dropZone.addEventListener(name, (event) => {
    event.preventDefault();
    dropZone.classList.add("dragging");
  });
}
dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dragging"));
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropZone.classList.remove("dragging");
  const file = event.dataTransfer.files[0];
  if (file) choose(file);
});
form.addEventListener("submit", upload);
offerPresets();
byId("download-button").addEventListener("click", download);
byId("again-button").addEventListener("click", startOver);
byId("previous-page").addEventListener("click", () => turnPage(-1));
byId("next-page").addEventListener("click", () => turnPage(1));
