// MAIST's draw page: pointer events on a canvas, debounced predictions, the layers as pictures.
"use strict";
const canvas = document.getElementById("canvas");
const ctx = canvas.getContext("2d");
const strokes = [];           // each stroke: [[x, y], ...] in canvas pixels
let current = null;
let timer = null;
let requestId = 0;
let inFlight = 0;
// "idle" once no prediction is waiting or under way: what a test or a screenshot waits for.
function setState() { document.body.dataset.state = (timer === null && inFlight === 0) ? "idle" : "busy"; }

function redraw() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = "#000";
  ctx.lineWidth = canvas.width / 20;  // about a pen's width on a 28x28 character
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  for (const s of strokes) {
    ctx.beginPath();
    ctx.moveTo(s[0][0], s[0][1]);
    for (const [x, y] of s.slice(1)) ctx.lineTo(x, y);
    if (s.length === 1) ctx.lineTo(s[0][0] + 0.1, s[0][1]);
    ctx.stroke();
  }
}

function point(e) {
  const r = canvas.getBoundingClientRect();
  return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
}

canvas.addEventListener("pointerdown", (e) => {
  canvas.setPointerCapture(e.pointerId);
  current = [point(e)];
  strokes.push(current);
  redraw();
});
canvas.addEventListener("pointermove", (e) => {
  if (!current) return;
  current.push(point(e));
  redraw();
  schedule(300);
});
for (const end of ["pointerup", "pointercancel"]) {
  canvas.addEventListener(end, () => { if (current) { current = null; schedule(0); } });
}

function schedule(ms) {
  clearTimeout(timer);
  timer = setTimeout(() => { timer = null; predict(); }, ms);
  setState();
}

function showError(text) { document.getElementById("error").textContent = text || ""; }

async function post(url, body) {
  const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const data = await res.json();
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data;
}

function clearAnswer() {
  document.getElementById("top").innerHTML = "";
  document.getElementById("layers").innerHTML = "";
  document.getElementById("input").replaceChildren();
}

// The input or a map as the server sends it (width x height grey bytes, base64) on a canvas of its own,
// scaled up by the style sheet with its pixels kept square.
function greyCanvas({ name, width, height, pixels }) {
  const bytes = Uint8Array.from(atob(pixels), (c) => c.charCodeAt(0));
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < bytes.length; i++) {
    rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = bytes[i];
    rgba[4 * i + 3] = 255;
  }
  const c = document.createElement("canvas");
  c.width = width;
  c.height = height;
  c.getContext("2d").putImageData(new ImageData(rgba, width, height), 0, 0);
  c.setAttribute("aria-label", name);
  return c;
}

async function predict() {
  if (!strokes.length) { clearAnswer(); setState(); return; }
  const id = ++requestId;
  inFlight += 1;
  setState();
  try {
    const script = document.getElementById("script").value;
    // The top 5 and the maps from one request: one session call for both.
    const data = await post("/api/predict", { image: canvas.toDataURL("image/png"), scripts: script ? [script] : null, layers: true });
    if (id !== requestId) return;  // a newer drawing is on its way
    showError("");
    const top = document.getElementById("top");
    top.innerHTML = "";
    for (const { char, p } of data.top) {
      const li = document.createElement("li");
      li.innerHTML = `<span class="char"></span><span class="bar"></span><span class="p"></span>`;
      li.querySelector(".char").textContent = char;
      li.querySelector(".bar").style.width = `${Math.max(1, p * 100)}px`;
      li.querySelector(".p").textContent = `${(p * 100).toFixed(1)}%`;
      top.appendChild(li);
    }
    document.getElementById("input").replaceChildren(greyCanvas({ name: "the 28x28 input", ...data.input }));
    const label = document.getElementById("label");
    if (!label.dataset.touched) label.value = data.top[0].char;  // a guess the user may retype
    const layers = document.getElementById("layers");
    layers.innerHTML = "";
    for (const layer of data.layers) {
      const div = document.createElement("div");
      div.className = "layer";
      div.innerHTML = `<p></p>`;
      div.querySelector("p").textContent = `${layer.name}: ${layer.shape.join(" x ")}`;
      div.appendChild(greyCanvas(layer));
      layers.appendChild(div);
    }
  } catch (err) {
    if (id === requestId) { clearAnswer(); showError(err.message); }
  } finally {
    inFlight -= 1;
    setState();
  }
}

document.getElementById("clear").addEventListener("click", () => { strokes.length = 0; redraw(); clearAnswer(); showError(""); });
document.getElementById("undo").addEventListener("click", () => { strokes.pop(); redraw(); schedule(0); });
document.getElementById("label").addEventListener("input", (e) => { e.target.dataset.touched = "1"; });
document.getElementById("script").addEventListener("change", () => schedule(0));
let classes = new Set();
// What was typed or pasted, as one of the run's classes: half-width katakana, or a kana
// followed by a voicing mark typed on its own (U+309B, U+309C), become the class's own
// character, as the server makes them.
function typedLabel() {
  return document.getElementById("label").value.replaceAll("\u309b", "\u3099").replaceAll("\u309c", "\u309a").normalize("NFKC").trim();
}
document.getElementById("save").addEventListener("click", async () => {
  if (!strokes.length) { showError("draw a character first"); return; }
  const label = typedLabel();
  if (!classes.has(label)) { showError(label ? `${label} is not one of this run's ${classes.size} classes` : "type the character you drew"); return; }
  try {
    const data = await post("/api/save", { image: canvas.toDataURL("image/png"), label });
    document.getElementById("saved").textContent = `saved ${data.path} (${data.count} of this character)`;
    showMine(data.mine);
    showError("");
  } catch (err) { showError(err.message); }
});

// The drawings saved so far, per character, and the command that adapts the run to them.
function showMine(mine) {
  const el = document.getElementById("mine");
  if (!mine || !mine.total) { el.textContent = ""; return; }
  const each = Object.entries(mine.per_class).map(([c, n]) => `${c} ${n}`).join(", ");
  const chars = Object.keys(mine.per_class).length;
  el.textContent = `${mine.folder}: ${mine.total} drawing${mine.total === 1 ? "" : "s"} of ${chars} character${chars === 1 ? "" : "s"} (${each}). ` +
    (mine.command ? `Adapt the model to your hand: ${mine.command}` : "Save 3 or more to adapt the model to your hand.");
}

async function loadInfo(info) {
  document.getElementById("about").textContent = `${info.model}, step ${info.step}, ${info.preprocess} preprocessing`;
  const what = info.scripts_text || "a character";
  document.getElementById("tagline").textContent = `draw ${what}, watch the network read it`;
  document.title = `MAIST: draw ${what}`;
  classes = new Set(info.classes);
  // A model of several scripts can be told which one is drawn: look-alikes across scripts
  // (a hiragana he and a katakana HE are one picture) are then kept apart.
  const script = document.getElementById("script");
  script.innerHTML = "";
  for (const [value, text] of [["", "any script"], ...info.scripts.map((s) => [s, s])]) {
    const o = document.createElement("option"); o.value = value; o.textContent = text; script.appendChild(o);
  }
  document.getElementById("script-choice").hidden = info.scripts.length < 2;
  // A typed field, not a list: a kanji model has over a thousand classes. The datalist
  // offers completions where a browser shows them; small sets only, to keep the page light.
  const list = document.getElementById("label-list");
  list.innerHTML = "";
  if (info.classes.length <= 200) {
    for (const c of info.classes) { const o = document.createElement("option"); o.value = c; list.appendChild(o); }
  }
  const label = document.getElementById("label");
  label.value = "";
  delete label.dataset.touched;
  label.placeholder = info.classes[0] || "";
  const filters = document.getElementById("filters");
  const title = document.getElementById("filters-title");
  if (info.filters) { filters.src = info.filters.png; filters.hidden = title.hidden = false; title.textContent = `First-layer filters (${info.filters.shape.join(" x ")})`; }
  else { filters.hidden = title.hidden = true; }
  try { showMine(await (await fetch("/api/mine")).json()); } catch (err) { /* the count is a courtesy */ }
}

async function start() {
  redraw();
  setState();
  const info = await (await fetch("/api/info")).json();
  await loadInfo(info);
  const runs = (await (await fetch("/api/runs")).json()).runs;
  const select = document.getElementById("run");
  for (const r of runs) { const o = document.createElement("option"); o.textContent = r; select.appendChild(o); }
  const mine = runs.find((r) => info.run.endsWith(r));
  if (mine) select.value = mine;
  select.addEventListener("change", async () => {
    try { await loadInfo(await post("/api/run", { run: select.value })); schedule(0); showError(""); }
    catch (err) { showError(err.message); }
  });
}
start();
