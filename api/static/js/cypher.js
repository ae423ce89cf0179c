// The read-only Cypher console (POST /query), with example queries over the project's model
// (api/static/cypher_examples.json: tests/test_cypher_lint.py lints them with Neo4j's front end).

import { explain, get, post } from "./api.js";
import { esc } from "./util.js";


function table(result) {
  if (!result.rows.length) return '<p class="caveat">No rows.</p>';
  const cols = result.columns;
  const cell = (v) => esc(typeof v === "object" && v !== null ? JSON.stringify(v) : v);
  return `<table class="results"><thead><tr>${cols.map((c) => `<th>${esc(c)}</th>`).join("")}</tr></thead><tbody>`
    + result.rows.map((r) => `<tr>${cols.map((c) => `<td>${cell(r[c])}</td>`).join("")}</tr>`).join("")
    + "</tbody></table>";
}

export async function setupConsole(form, select, text, paramsInput, out) {
  let examples = [];
  try {
    examples = await get("/static/cypher_examples.json");
  } catch (e) {
    out.innerHTML = `<p class="error">${esc(explain(e))}</p>`;
  }
  select.innerHTML = examples.map((e, i) => `<option value="${i}">${esc(e.name)}</option>`).join("");
  const pick = () => {
    const ex = examples[Number(select.value)];
    if (!ex) return;
    text.value = ex.cypher;
    paramsInput.value = JSON.stringify(ex.params);
  };
  select.addEventListener("change", pick);
  pick();
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    let params;
    try {
      params = JSON.parse(paramsInput.value || "{}");
    } catch (e) {
      out.innerHTML = `<p class="error">The parameters are not JSON: ${esc(e.message)}</p>`;
      return;
    }
    out.innerHTML = '<p class="caveat">Running…</p>';
    try {
      const result = await post("/query", { cypher: text.value, params });
      out.innerHTML = `<p class="caveat">${result.rows.length} rows${result.truncated ? " (truncated)" : ""} in `
        + `${result.milliseconds} ms on ${esc(result.backend)}.</p>` + table(result);
    } catch (e) {
      out.innerHTML = `<p class="error">${esc(explain(e))}</p>`;
    }
  });
}
