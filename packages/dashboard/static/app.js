// The dashboard page: one EventSource for everything live, DOM built with textContent only (a
// torrent's name or a file name is never parsed as HTML), piece maps drawn on canvases.
"use strict";

/** State codes as the server sends them (PIECE_STATE_CODE); claims by worker start at 16. */
const STATES = ["missing", "claimed", "staged", "verified", "stored", "skipped"];
const CLAIMED_BY_BASE = 16;
const STATE_COLOURS = {
  missing: [217, 221, 227],
  claimed: [120, 120, 120],
  staged: [242, 177, 52],
  verified: [74, 163, 223],
  stored: [46, 158, 91],
  skipped: [244, 244, 244],
};
/** Claims are coloured by worker; hues kept apart from the state colours above. */
const WORKER_COLOURS = [
  [142, 68, 173], [214, 51, 132], [23, 162, 184], [232, 89, 12], [141, 110, 99], [63, 81, 181],
  [158, 157, 36], [240, 98, 146], [0, 172, 193], [192, 57, 43], [26, 35, 126], [124, 179, 66],
];
/** Most rows a piece map takes; cells shrink (to one pixel) before the map grows past it. */
const MAP_MAX_HEIGHT_PX = 180;
/** Largest cell: a torrent of a few pieces is a row of squares, not a wall of colour. */
const MAX_CELL_PX = 14;
/** From this cell size on, a one-pixel gap of background separates pieces. */
const GAP_FROM_CELL_PX = 5;

const jobsEl = document.getElementById("jobs");
const template = document.getElementById("job-template");
const cards = new Map();
/** The latest map of each job, redrawn when its card's width changes. */
const maps = new Map();

function rgb(c) {
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

function workerColour(i) {
  return WORKER_COLOURS[i % WORKER_COLOURS.length];
}

function formatBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

function formatDuration(s) {
  if (s === undefined || s === null) return "--";
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function setStatus(el, up, text) {
  el.dataset.up = String(up);
  el.textContent = text;
}

// ---- jobs ----------------------------------------------------------------------------------

function cardOf(job) {
  let card = cards.get(job.id);
  if (card) return card;
  card = template.content.firstElementChild.cloneNode(true);
  card.dataset.jobId = job.id;
  card.querySelector(".cancel").addEventListener("click", () => cancel(job.id, card));
  cards.set(job.id, card);
  return card;
}

function renderJobs(jobs) {
  document.getElementById("no-jobs").hidden = jobs.length > 0;
  const seen = new Set();
  let previous = null;
  for (const job of jobs) {
    seen.add(job.id);
    const card = cardOf(job);
    // Keep the server's order (newest first) without re-inserting cards that are in place.
    const wanted = previous ? previous.nextSibling : jobsEl.firstChild;
    if (wanted !== card) jobsEl.insertBefore(card, wanted);
    previous = card;
    card.dataset.state = job.state;
    card.dataset.percent = job.percent === undefined || job.percent === null ? "" : String(job.percent);
    card.querySelector(".job-name").textContent = job.name ?? job.sourceUrl ?? "(metadata not read yet)";
    card.querySelector(".job-state").textContent = job.state;
    card.querySelector(".job-id").textContent = job.id;
    card.querySelector(".job-dest").textContent = job.destination;
    card.querySelector(".bar-fill").style.width = `${job.percent ?? 0}%`;
    const stats = [`${job.percent === undefined || job.percent === null ? "--" : job.percent.toFixed(1)} %`];
    if (job.totalBytes > 0) stats.push(`${formatBytes(job.storedBytes)} of ${formatBytes(job.totalBytes)}`);
    if (job.pieces > 0) stats.push(`pieces ${job.storedPieces}/${job.pieces}`);
    if (job.state === "active") {
      stats.push(`${formatBytes(job.downloadRateBytesPerSec)}/s down`, `${formatBytes(job.uploadRateBytesPerSec)}/s up`);
      stats.push(`ETA ${formatDuration(job.etaSeconds)}`, `peers ${job.peers}`, `workers ${job.workers.filter((w) => w.live).length}`);
    }
    card.querySelector(".job-stats").textContent = stats.join(" · ");
    card.querySelector(".job-error").textContent = job.failedReason ?? "";
    card.querySelector(".cancel").hidden = !job.cancellable;
  }
  for (const [id, card] of cards) {
    if (!seen.has(id)) {
      card.remove();
      cards.delete(id);
      maps.delete(id);
    }
  }
}

async function cancel(jobId, card) {
  const button = card.querySelector(".cancel");
  const message = card.querySelector(".job-message");
  button.disabled = true;
  try {
    const res = await fetch(`/api/jobs/${encodeURIComponent(jobId)}/cancel`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    const body = await res.json();
    message.textContent = body.message ?? body.error ?? `HTTP ${res.status}`;
  } catch (err) {
    message.textContent = `cancel not sent: ${err.message}`;
  } finally {
    button.disabled = false;
  }
}

// ---- piece maps ----------------------------------------------------------------------------

async function inflate(base64) {
  const bin = atob(base64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function drawMap(jobId) {
  const map = maps.get(jobId);
  const card = cards.get(jobId);
  if (!map || !card) return;
  const canvas = card.querySelector(".piece-map");
  const { states, workers } = map;
  const n = states.length;
  const width = Math.max(100, Math.floor(canvas.clientWidth || 600));
  // The largest square cell with which every piece fits within the height limit.
  const cell = Math.min(MAX_CELL_PX, Math.max(1, Math.floor(Math.sqrt((width * MAP_MAX_HEIGHT_PX) / Math.max(1, n)))));
  const ink = cell >= GAP_FROM_CELL_PX ? cell - 1 : cell;
  const cols = Math.max(1, Math.floor(width / cell));
  const rows = Math.ceil(n / cols);
  canvas.width = width;
  canvas.height = Math.max(1, rows * cell);
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(canvas.width, canvas.height);
  const px = img.data;
  // Background white: distinct from every state, so a blank map is visible as such.
  px.fill(255);
  const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
  for (let i = 0; i < n; i++) {
    const code = states[i];
    let colour;
    if (code >= CLAIMED_BY_BASE) {
      counts.claimed++;
      colour = workerColour(code - CLAIMED_BY_BASE);
    } else {
      const state = STATES[code] ?? "missing";
      counts[state]++;
      colour = STATE_COLOURS[state];
    }
    const x0 = (i % cols) * cell;
    const y0 = Math.floor(i / cols) * cell;
    for (let y = y0; y < y0 + ink; y++) {
      let o = (y * canvas.width + x0) * 4;
      for (let x = 0; x < ink; x++, o += 4) {
        px[o] = colour[0];
        px[o + 1] = colour[1];
        px[o + 2] = colour[2];
        px[o + 3] = 255;
      }
    }
  }
  ctx.putImageData(img, 0, 0);
  // What the canvas shows, counted from the drawn bytes, for people and tests alike.
  canvas.dataset.pieces = String(n);
  for (const s of STATES) canvas.dataset[s] = String(counts[s]);
  canvas.title = STATES.filter((s) => counts[s] > 0).map((s) => `${s} ${counts[s]}`).join(", ");
  renderLegend(card.querySelector(".legend"), counts, workers);
}

function renderLegend(el, counts, workers) {
  el.replaceChildren();
  const add = (colour, text) => {
    const span = document.createElement("span");
    span.style.setProperty("--swatch", rgb(colour));
    span.textContent = text;
    el.append(span);
  };
  for (const s of STATES) {
    if (s === "claimed") continue;
    if (s === "skipped" && counts.skipped === 0) continue;
    add(STATE_COLOURS[s], `${s} ${counts[s]}`);
  }
  workers.forEach((w, i) => add(workerColour(i), `claimed by ${w}`));
}

async function onPieces(msg) {
  const states = await inflate(msg.data);
  maps.set(msg.jobId, { states, workers: msg.workers });
  drawMap(msg.jobId);
}

new ResizeObserver(() => {
  for (const id of maps.keys()) drawMap(id);
}).observe(jobsEl);

// ---- workers and backends ------------------------------------------------------------------

function renderWorkers(msg) {
  const body = document.querySelector("#workers tbody");
  body.replaceChildren(
    ...msg.workers.map((w) => {
      const tr = document.createElement("tr");
      for (const v of [w.workerId, w.torrents, w.peers, `${formatBytes(w.downloadRateBytesPerSec)}/s`, `${formatBytes(w.uploadRateBytesPerSec)}/s`]) {
        const td = document.createElement("td");
        td.textContent = String(v);
        tr.append(td);
      }
      return tr;
    }),
  );
  document.getElementById("workers-source").textContent =
    msg.source === "nats" ? (msg.workers.length === 0 ? "No worker reported in the last seconds." : "As reported every second.") : "NATS is away: as the jobs' progress last reported them.";
}

function renderBackends(msg) {
  setStatus(document.getElementById("redis-status"), msg.redis, msg.redis ? "Redis up" : "Redis down");
  setStatus(document.getElementById("nats-status"), msg.nats, msg.nats ? "NATS up" : "NATS down");
  document.getElementById("backend-error").textContent = msg.error ?? "";
}

// ---- the event stream ----------------------------------------------------------------------

const streamStatus = document.getElementById("stream-status");
const events = new EventSource("/events");
events.addEventListener("open", () => setStatus(streamStatus, true, "live"));
// EventSource reconnects by itself; the server sends the whole state again when it does.
events.addEventListener("error", () => setStatus(streamStatus, false, "reconnecting…"));
events.addEventListener("jobs", (e) => renderJobs(JSON.parse(e.data)));
events.addEventListener("pieces", (e) => void onPieces(JSON.parse(e.data)));
events.addEventListener("workers", (e) => renderWorkers(JSON.parse(e.data)));
events.addEventListener("backends", (e) => renderBackends(JSON.parse(e.data)));

// ---- the submit form -----------------------------------------------------------------------

function readBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
    reader.onerror = () => reject(reader.error ?? new Error(`cannot read ${file.name}`));
    reader.readAsDataURL(file);
  });
}

document.getElementById("submit-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const message = document.getElementById("submit-message");
  const button = document.getElementById("submit-button");
  const value = (id) => document.getElementById(id).value;
  button.disabled = true;
  message.dataset.kind = "";
  message.textContent = "submitting…";
  try {
    const file = document.getElementById("torrent-file").files[0];
    const body = {
      ...(file ? { torrent: { name: file.name, base64: await readBase64(file) } } : {}),
      url: value("torrent-url"),
      to: value("dest"),
      select: value("select"),
      maxDownloadRate: value("max-down"),
      maxUploadRate: value("max-up"),
      seedRatio: value("seed-ratio"),
      seedTime: value("seed-time"),
    };
    const res = await fetch("/api/jobs", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const answer = await res.json();
    if (res.ok) {
      message.dataset.kind = "ok";
      message.dataset.jobId = answer.jobId;
      message.textContent = `queued job ${answer.jobId} to ${answer.destination}`;
      document.getElementById("torrent-file").value = "";
      document.getElementById("torrent-url").value = "";
    } else {
      message.dataset.kind = "error";
      message.textContent = answer.error ?? `HTTP ${res.status}`;
    }
  } catch (err) {
    message.dataset.kind = "error";
    message.textContent = `not submitted: ${err.message}`;
  } finally {
    button.disabled = false;
  }
});
