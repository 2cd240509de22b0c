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
  document.getElementById("input").removeAttribute("src");
}

async function predict() {
  if (!strokes.length) { clearAnswer(); setState(); return; }
  const id = ++requestId;
  inFlight += 1;
  setState();
  try {
    const data = await post("/api/predict", { image: canvas.toDataURL("image/png") });
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
    document.getElementById("input").src = data.input;
    const label = document.getElementById("label");
    if (!label.dataset.touched) label.value = data.top[0].char;
    // The top 5 first; the maps in a second request, for the same 28x28 input.
    const maps = await post("/api/layers", { x: data.x });
    if (id !== requestId) return;
    const layers = document.getElementById("layers");
    layers.innerHTML = "";
    for (const layer of maps.layers) {
      const div = document.createElement("div");
      div.className = "layer";
      div.innerHTML = `<p></p><img alt="">`;
      div.querySelector("p").textContent = `${layer.name}: ${layer.shape.join(" x ")}`;
      div.querySelector("img").src = layer.png;
      div.querySelector("img").alt = layer.name;
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
document.getElementById("label").addEventListener("change", (e) => { e.target.dataset.touched = "1"; });
document.getElementById("save").addEventListener("click", async () => {
  if (!strokes.length) { showError("draw a character first"); return; }
  try {
    const data = await post("/api/save", { image: canvas.toDataURL("image/png"), label: document.getElementById("label").value });
    document.getElementById("saved").textContent = `saved ${data.path} (${data.count} of this character)`;
    showError("");
  } catch (err) { showError(err.message); }
});

async function loadInfo(info) {
  document.getElementById("about").textContent = `${info.model}, step ${info.step}, ${info.preprocess} preprocessing`;
  const label = document.getElementById("label");
  label.innerHTML = "";
  for (const c of info.classes) { const o = document.createElement("option"); o.textContent = c; label.appendChild(o); }
  const filters = document.getElementById("filters");
  const title = document.getElementById("filters-title");
  if (info.filters) { filters.src = info.filters.png; filters.hidden = title.hidden = false; title.textContent = `First-layer filters (${info.filters.shape.join(" x ")})`; }
  else { filters.hidden = title.hidden = true; }
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
