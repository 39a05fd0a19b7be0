"""The explorer page: one HTML document with its style and a little plain JavaScript that calls the JSON
endpoints. Every text from the model or the data goes into the page through ``textContent`` (never ``innerHTML``),
so a sentence is always shown as text, never run as markup. The Content-Security-Policy allows exactly this script
and style (by their hashes) and requests to the page's own origin."""
from __future__ import annotations

import base64
import hashlib

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2330; }
header { background: #1d2330; color: #fff; padding: 10px 20px; }
header h1 { font-size: 18px; margin: 0; display: inline; }
header span { opacity: .8; margin-left: 12px; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); gap: 14px; padding: 14px; }
section { background: #fff; border: 1px solid #d8dce3; border-radius: 6px; padding: 12px 16px; }
section h2 { font-size: 16px; margin: 0 0 8px; }
label { margin-right: 10px; white-space: nowrap; }
input[type=text], textarea { width: 100%; box-sizing: border-box; font: inherit; padding: 4px 6px; }
input[type=number] { width: 5em; }
button { font: inherit; padding: 3px 14px; margin: 6px 0; cursor: pointer; }
.row { margin: 6px 0; }
.note { color: #5a6270; font-size: 13px; }
.error { color: #b3261e; font-size: 13px; min-height: 1em; }
.result { background: #eef3ff; border-left: 3px solid #3b6fd8; padding: 4px 8px; margin: 4px 0; min-height: 1.3em; }
ol, ul { margin: 4px 0; padding-left: 22px; }
#map-svg { width: 100%; height: auto; background: #fcfcfd; border: 1px solid #e3e6eb; }
.legend span { margin-right: 12px; font-size: 13px; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; }
.hidden { display: none; }
"""

SCRIPT = """
"use strict";
const $ = (id) => document.getElementById(id);
const COLOURS = ["#d8553b", "#3b6fd8", "#2e9e5b", "#9b4fc8", "#d89a1e", "#1ea3b5", "#c2417a", "#6b7a2e"];
let INFO = null, MAP = null, PLACED = null;

async function api(path, body) {
  const opts = body === undefined ? {} :
    {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
  const r = await fetch(path, opts);
  let data = null;
  try { data = await r.json(); } catch (e) { data = {error: "HTTP " + r.status}; }
  if (!r.ok) throw new Error(data.error || ("HTTP " + r.status));
  return data;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function fillList(list, sentences) {
  list.replaceChildren(...sentences.map((s) => el("li", s)));
}

function attributeSelects(holder, prefix, anyLabel) {
  holder.replaceChildren();
  for (const [name, values] of Object.entries(INFO.controlled)) {
    const label = el("label", name + " ");
    const sel = el("select");
    sel.id = prefix + "-" + name;
    sel.dataset.attribute = name;
    sel.append(el("option", anyLabel));
    sel.options[0].value = "";
    for (const v of values) { const o = el("option", v); o.value = v; sel.append(o); }
    label.append(sel);
    holder.append(label);
  }
}

function chosen(holder) {
  const out = {};
  for (const sel of holder.querySelectorAll("select")) if (sel.value) out[sel.dataset.attribute] = sel.value;
  return out;
}

// Runs one request for a panel: the button is disabled meanwhile, errors land in the panel's error line, and the
// panel's data-state says idle/busy/done/error (what a test waits for).
async function run(panel, button, work) {
  const err = panel.querySelector(".error");
  err.textContent = "";
  button.disabled = true;
  panel.dataset.state = "busy";
  try { await work(); panel.dataset.state = "done"; }
  catch (e) { err.textContent = e.message; panel.dataset.state = "error"; }
  finally { button.disabled = false; }
}

async function doSample() {
  await run($("sample"), $("sample-btn"), async () => {
    const body = {n: Number($("sample-n").value), attributes: chosen($("sample-attrs"))};
    if ($("sample-seed").value !== "") body.seed = Number($("sample-seed").value);
    fillList($("sample-out"), (await api("/api/sample", body)).sentences);
  });
}

async function doRewrite() {
  await run($("rewrite"), $("rewrite-btn"), async () => {
    const text = $("rewrite-text").value;
    const r = await api("/api/rewrite", {text, attributes: chosen($("rewrite-attrs")),
                                         scale: Number($("rewrite-scale").value)});
    $("rewrite-result").textContent = r.result;
    $("rewrite-recon").textContent = r.reconstruction;
    $("rewrite-read").textContent = r.read ? Object.entries(r.read).map(([a, v]) => a + ": " + v).join(", ") : "-";
    $("rewrite-note").textContent = r.note;
    if (MAP && MAP.available) await place(text);
  });
}

async function doInterpolate() {
  await run($("interpolate"), $("interp-btn"), async () => {
    const r = await api("/api/interpolate", {a: $("interp-a").value, b: $("interp-b").value,
                                             steps: Number($("interp-steps").value), method: $("interp-method").value});
    fillList($("interp-out"), r.sentences);
  });
}

async function place(text) {
  const p = await api("/api/map", {text});
  PLACED = p;
  $("map-placed").textContent = "marked: " + p.text;
  drawMap();
}

function colourOf(point, attr) {
  if (!attr || !(attr in point.labels)) return "#8a93a3";
  return COLOURS[MAP.attributes[attr].indexOf(point.labels[attr]) % COLOURS.length];
}

function svg(tag, attrs) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function drawMap() {
  const box = $("map-svg"), W = 560, H = 380, M = 28;
  box.replaceChildren();
  const pts = MAP.points.concat(PLACED ? [PLACED] : []);
  const xs = pts.map((p) => p.x), ys = pts.map((p) => p.y);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  const sx = (x) => M + (W - 2 * M) * (x - x0) / ((x1 - x0) || 1);
  const sy = (y) => H - M - (H - 2 * M) * (y - y0) / ((y1 - y0) || 1);
  const attr = $("map-colour").value;
  const ev = MAP.explained_variance.map((v) => Math.round(100 * v));
  const xl = svg("text", {x: W / 2, y: H - 6, "text-anchor": "middle", "font-size": 12, fill: "#5a6270"});
  xl.textContent = "PC1 (" + ev[0] + "% of variance)";
  const yl = svg("text", {x: 12, y: H / 2, "font-size": 12, fill: "#5a6270",
                          transform: "rotate(-90 12 " + H / 2 + ")", "text-anchor": "middle"});
  yl.textContent = "PC2 (" + ev[1] + "%)";
  box.append(xl, yl);
  for (const p of MAP.points) {
    const c = svg("circle", {cx: sx(p.x), cy: sy(p.y), r: 4, fill: colourOf(p, attr), "fill-opacity": 0.75});
    const t = svg("title");
    t.textContent = p.text + (Object.keys(p.labels).length ? "  [" + Object.entries(p.labels).map(
      ([a, v]) => a + ": " + v).join(", ") + "]" : "");
    c.append(t);
    c.addEventListener("click", () => { $("map-picked").textContent = p.text; $("rewrite-text").value = p.text; });
    box.append(c);
  }
  if (PLACED) {
    const x = sx(PLACED.x), y = sy(PLACED.y);
    const d = "M" + (x - 10) + " " + y + "h20M" + x + " " + (y - 10) + "v20";
    const mark = svg("g", {id: "map-marker"});  // a black cross on a white halo: visible inside a dense cluster
    mark.append(svg("path", {d, stroke: "#fff", "stroke-width": 7}), svg("path", {d, stroke: "#111", "stroke-width": 3}));
    const t = svg("title");
    t.textContent = "your sentence: " + PLACED.text;
    mark.append(t);
    box.append(mark);
  }
  const legend = $("map-legend");
  legend.replaceChildren();
  if (attr) for (const v of MAP.attributes[attr]) {
    const s = el("span", v);
    const dot = el("i");
    dot.style.background = COLOURS[MAP.attributes[attr].indexOf(v) % COLOURS.length];
    s.prepend(dot);
    legend.append(s);
  }
}

async function start() {
  INFO = await api("/api/info");
  $("model").textContent = "model " + INFO.model + (INFO.run ? " - run " + INFO.run : "");
  attributeSelects($("sample-attrs"), "sample-attr", "any");
  attributeSelects($("rewrite-attrs"), "rewrite-attr", "keep");
  $("sample-n").max = INFO.limits.samples;
  $("interp-steps").max = INFO.limits.interpolation_steps;
  for (const id of ["rewrite-text", "interp-a", "interp-b"]) $(id).maxLength = INFO.limits.text_characters;
  $("rewrite-scale").max = INFO.limits.scale;
  $("rewrite-scale").min = -INFO.limits.scale;
  if (!INFO.can_rewrite) {
    $("rewrite-btn").textContent = "Reconstruct";
    $("rewrite-help").textContent = INFO.rewrite_note;
    $("rewrite-knobs").classList.add("hidden");
  }
  if (!INFO.has_latent) for (const id of ["rewrite", "interpolate", "map"]) $(id).classList.add("hidden");
  $("sample-btn").addEventListener("click", doSample);
  $("rewrite-btn").addEventListener("click", doRewrite);
  $("interp-btn").addEventListener("click", doInterpolate);
  $("map-colour").addEventListener("change", drawMap);
  if (!INFO.has_latent) { document.body.dataset.ready = "1"; return; }
  MAP = await api("/api/map");
  if (!MAP.available) {
    $("map-note").textContent = "No map: " + MAP.reason;
    $("map-svg").classList.add("hidden");
  } else {
    $("map-note").textContent = MAP.points.length + " sentences of the " + MAP.split +
      " split, placed by the first two principal components of their posterior means.";
    for (const a of Object.keys(MAP.attributes)) { const o = el("option", a); o.value = a; $("map-colour").append(o); }
    if (Object.keys(MAP.attributes).length) $("map-colour").selectedIndex = 1;
    drawMap();
  }
  document.body.dataset.ready = "1";
}

start().catch((e) => { $("model").textContent = "could not start: " + e.message; document.body.dataset.ready = "error"; });
"""

BODY = """
<header><h1>sentae explorer</h1><span id="model">loading...</span></header>
<main>
<section id="sample" data-state="idle">
  <h2>Sample</h2>
  <div class="note">New sentences from the prior; with attribute codes, fix a value or leave it to chance.</div>
  <div class="row" id="sample-attrs"></div>
  <div class="row"><label>sentences <input type="number" id="sample-n" value="5" min="1"></label>
    <label>seed <input type="number" id="sample-seed" min="0" placeholder="random"></label></div>
  <button id="sample-btn">Sample</button>
  <div class="error"></div>
  <ol id="sample-out"></ol>
</section>
<section id="rewrite" data-state="idle">
  <h2>Rewrite</h2>
  <div class="note" id="rewrite-help">Type a sentence and choose the values it should have; the rest of the code
    is kept. It is also marked on the latent map.</div>
  <div class="row"><input type="text" id="rewrite-text" value="the service was slow and the food was cold ."></div>
  <div id="rewrite-knobs"><div class="row" id="rewrite-attrs"></div>
    <div class="row"><label>scale <input type="number" id="rewrite-scale" value="1" step="0.25"></label>
      <span class="note">1: the asked value; below 1 part way, above 1 beyond it</span></div></div>
  <button id="rewrite-btn">Rewrite</button>
  <div class="error"></div>
  <div class="note">result</div><div class="result" id="rewrite-result"></div>
  <div class="note">reconstruction (the sentence decoded from its own code)</div>
  <div class="result" id="rewrite-recon"></div>
  <div class="note">the model reads the typed sentence as: <span id="rewrite-read">-</span></div>
  <div class="note" id="rewrite-note"></div>
</section>
<section id="interpolate" data-state="idle">
  <h2>Interpolate</h2>
  <div class="note">Sentences decoded along the path between the codes of two sentences.</div>
  <div class="row"><input type="text" id="interp-a" value="the pasta was great ."></div>
  <div class="row"><input type="text" id="interp-b" value="we will never come back to this place ."></div>
  <div class="row"><label>steps <input type="number" id="interp-steps" value="5" min="2"></label>
    <label>path <select id="interp-method"><option value="linear">linear</option>
      <option value="slerp">slerp</option></select></label></div>
  <button id="interp-btn">Interpolate</button>
  <div class="error"></div>
  <ol id="interp-out"></ol>
</section>
<section id="map" data-state="idle">
  <h2>Latent map</h2>
  <div class="note" id="map-note"></div>
  <div class="row"><label>colour by <select id="map-colour"><option value="">nothing</option></select></label>
    <span class="legend" id="map-legend"></span></div>
  <svg id="map-svg" viewBox="0 0 560 380" role="img" aria-label="latent map"></svg>
  <div class="note" id="map-placed">Rewrite a sentence to mark it (+) on the map; click a point to copy it.</div>
  <div class="note" id="map-picked"></div>
  <div class="error"></div>
</section>
</main>
"""


def _hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii") + "'"


PAGE = (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>sentae explorer</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>'
        f'<body>{BODY}<script>{SCRIPT}</script></body></html>\n')

# The browser runs only the script and style above (by hash) and talks only to this server; no frames, no forms
# sent elsewhere, no plugins.
CSP = (f"default-src 'none'; script-src {_hash(SCRIPT)}; style-src {_hash(STYLE)}; connect-src 'self'; "
       f"img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
