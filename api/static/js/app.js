// The explorer page: tabs, search, and the wiring of each view to the HTTP API (nothing else is
// fetched, and nothing from outside this machine).

import { explain, get } from "./api.js";
import { setupConsole } from "./cypher.js";
import { loadStyle, showNode } from "./graph.js";
import { drawMap } from "./map.js";
import { drawSurvival } from "./survival.js";
import { esc } from "./util.js";

const $ = (id) => document.getElementById(id);
const banner = $("banner");
const drawn = new Set();

function showError(e) {
  banner.hidden = false;
  banner.textContent = explain(e);
}

function clearError() {
  banner.hidden = true;
  banner.textContent = "";
}

const graphParts = () => ({ container: $("graph"), details: $("graph-details"), note: $("graph-note"), onError: showError });

function selectView(name) {
  document.querySelectorAll("#tabs button").forEach((b) => b.classList.toggle("active", b.dataset.view === name));
  document.querySelectorAll("main .view").forEach((v) => { v.hidden = v.id !== `view-${name}`; });
  if (name === "survival" && !drawn.has("survival")) {
    drawn.add("survival");
    drawSurvival($("survival-controls"), $("survival-plot"), $("survival-note"), showError);
  }
  if (name === "graph" && !drawn.has("graph")) {
    drawn.add("graph");
    showNode("Gene:CD40LG", graphParts());
  }
  const url = new URL(window.location);
  url.hash = name;
  history.replaceState(null, "", url);
}

async function openInGraph(id) {
  drawn.add("graph");
  selectView("graph");
  clearError();
  await showNode(id, graphParts());
}

function setupSearch() {
  const input = $("search");
  const list = $("search-results");
  let timer = null;
  let seq = 0;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (q.length < 2) { list.hidden = true; return; }
    timer = setTimeout(async () => {
      const mine = ++seq;
      try {
        const res = await get("/search", { q, limit: 15 });
        if (mine !== seq) return;
        list.innerHTML = res.items.length
          ? res.items.map((h) => `<li tabindex="0" data-id="${esc(h.id)}"><span class="kind">${esc(h.label)}</span>`
            + `${esc(h.name || h.key)}${h.detail ? ` <span class="kind">${esc(h.detail)}</span>` : ""}</li>`).join("")
          : '<li class="none">No gene, drug, defect or article matches.</li>';
        list.hidden = false;
      } catch (e) {
        showError(e);
      }
    }, 200);
  });
  list.addEventListener("click", (ev) => {
    const li = ev.target.closest("li[data-id]");
    if (!li) return;
    list.hidden = true;
    input.value = "";
    openInGraph(li.dataset.id);
  });
  list.addEventListener("keydown", (ev) => { if (ev.key === "Enter") ev.target.click(); });
  document.addEventListener("click", (ev) => { if (!ev.target.closest(".search")) list.hidden = true; });
}

async function init() {
  document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => selectView(b.dataset.view)));
  setupSearch();
  setupConsole($("cypher-form"), $("cypher-examples"), $("cypher-text"), $("cypher-params"), $("cypher-result"));
  loadStyle($("graph-legend"));
  const redraw = () => { clearError(); drawMap($("map-controls"), $("heatmap"), $("cases"), $("tooltip"), showError); };
  $("map-controls").addEventListener("change", redraw);
  const survivalForm = $("survival-controls");
  const drugField = () => { $("survival-drug").hidden = survivalForm.elements.group_by.value !== "exposure"; };
  survivalForm.elements.group_by.addEventListener("change", drugField);
  survivalForm.elements.bands.addEventListener("change", () => survivalForm.requestSubmit());
  drugField();
  survivalForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    clearError();
    drawSurvival(survivalForm, $("survival-plot"), $("survival-note"), showError);
  });
  let stats;
  try {
    stats = await get("/stats");
  } catch (e) {
    showError(e);
    $("heatmap").innerHTML = '<div class="empty">The map needs the graph store; see the message above.</div>';
    return;
  }
  if (!stats.cases) {
    $("heatmap").innerHTML = `<div class="empty"><p><b>The graph is empty.</b></p><p>Build it from the bundled demo corpus with
      <code>pmlkg build</code> (or <code>make run</code>), or from PubMed with <code>pmlkg fetch</code> then
      <code>pmlkg build --from-cache</code>, and reload this page.</p></div>`;
    return;
  }
  try {
    const facets = await get("/facets");
    const cat = $("map-controls").elements.category;
    for (const c of facets.categories) cat.insertAdjacentHTML("beforeend", `<option>${esc(c)}</option>`);
    const form = $("map-controls");
    if (facets.year_min) { form.elements.year_min.placeholder = facets.year_min; form.elements.year_max.placeholder = facets.year_max; }
  } catch (e) { showError(e); }
  await drawMap($("map-controls"), $("heatmap"), $("cases"), $("tooltip"), showError);
  const start = window.location.hash.slice(1);
  if (["survival", "graph", "cypher"].includes(start)) selectView(start);
  document.body.dataset.ready = "1";
}

init();
