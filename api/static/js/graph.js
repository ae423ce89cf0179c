// The graph view: a node's neighbourhood drawn with cytoscape.js, expanded by clicking a node;
// labels and colours as in the Neo4j Browser style of the project (served as /neo4j/style.json).

import { get } from "./api.js";
import { esc } from "./util.js";

let cy = null;
let style = {};
let styleLoaded = null; // the promise of /neo4j/style.json: drawing waits for it
const expanded = new Set(); // "<id>|<max nodes>" already fetched into the drawing
const LABELLED_EDGES = 25; // edge types shown as labels while the drawing has at most this many edges

function nodeData(n) {
  return { id: n.id, label: n.label, caption: String(n.caption ?? n.key ?? n.id), properties: n.properties };
}

function ensure(container, details, note, onError) {
  if (cy) return cy;
  cy = window.cytoscape({
    container,
    style: [
      { selector: "node", style: {
        "background-color": (e) => (style[e.data("label")] || {}).color || "#888",
        label: "data(caption)", "font-size": 9, "text-wrap": "ellipsis", "text-max-width": 110,
        "text-valign": "bottom", "text-margin-y": 3, width: 22, height: 22, color: "#1f2933" } },
      { selector: "node.center", style: { width: 34, height: 34, "border-width": 3, "border-color": "#1f2933" } },
      { selector: "edge", style: { width: 1.2, "line-color": "#b8c2cc", "target-arrow-color": "#b8c2cc",
        "target-arrow-shape": "triangle", "curve-style": "bezier", "font-size": 7, color: "#5f6c7b",
        "text-rotation": "autorotate" } },
      { selector: "edge:selected, edge.labelled", style: { label: "data(type)" } },
      { selector: "edge.negated", style: { "line-style": "dashed", "line-color": "#d08a8a" } },
    ],
  });
  window.pmlkgGraph = cy; // for the browser tests and for curious users in the console
  cy.on("mouseover", "edge", (evt) => evt.target.addClass("labelled"));
  cy.on("mouseout", "edge", (evt) => { if (cy.edges().length > LABELLED_EDGES) evt.target.removeClass("labelled"); });
  cy.on("tap", "node", async (evt) => {
    const n = evt.target;
    showDetails(details, n.data());
    await expand(n.id(), note, onError, false);
  });
  return cy;
}

function showDetails(details, data) {
  const rows = Object.entries(data.properties || {})
    .filter(([, v]) => v !== null && v !== "" && !(Array.isArray(v) && !v.length))
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(Array.isArray(v) ? v.join(", ") : v)}</dd>`).join("");
  details.innerHTML = `<h3>${esc(data.label)}: ${esc(data.caption)}</h3><dl>${rows}</dl>`;
}

async function expand(id, note, onError, center) {
  const max = Number(document.querySelector("#graph-controls select[name=max_nodes]")?.value || 120);
  if (expanded.has(`${id}|${max}`)) return;
  let view;
  try {
    view = await get("/graph/neighborhood", { id, depth: 1, max_nodes: max });
  } catch (e) {
    onError(e);
    return;
  }
  const added = [];
  for (const n of view.nodes) if (!cy.getElementById(n.id).length) added.push({ group: "nodes", data: nodeData(n) });
  for (const e of view.edges) {
    if (!cy.getElementById(e.id).length) {
      added.push({ group: "edges", data: { id: e.id, source: e.source, target: e.target, type: e.type },
                   classes: e.properties.negated ? "negated" : "" });
    }
  }
  expanded.add(`${id}|${max}`);
  cy.add(added);
  // edge types as labels only while the drawing stays readable; hover shows them anyway
  cy.edges().toggleClass("labelled", cy.edges().length <= LABELLED_EDGES);
  if (center) cy.getElementById(id).addClass("center");
  note.hidden = !view.truncated;
  note.textContent = view.truncated
    ? `Capped at ${view.nodes.length} nodes: the neighbourhood of ${id} is larger; choose more nodes per expansion.` : "";
  cy.layout({ name: "cose", animate: false, nodeRepulsion: 9000, idealEdgeLength: 70, randomize: false }).run();
}

export function loadStyle(legend) {
  styleLoaded = (async () => {
    try {
      style = await get("/neo4j/style.json");
    } catch { style = {}; }
    legend.innerHTML = Object.entries(style).map(([label, s]) => `<span style="--c:${esc(s.color)}">${esc(label)}</span>`).join("");
  })();
  return styleLoaded;
}

export async function showNode(id, { container, details, note, onError }) {
  await styleLoaded;
  ensure(container, details, note, onError);
  cy.elements().remove();
  expanded.clear();
  await expand(id, note, onError, true);
  const node = cy.getElementById(id);
  if (node.length) showDetails(details, node.data());
}
