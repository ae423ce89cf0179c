// The read-only Cypher console (POST /query), with example queries over the project's model.

import { explain, post } from "./api.js";
import { esc } from "./util.js";

export const EXAMPLES = [
  { name: "Drugs before PML, by defect", params: {}, cypher:
`MATCH (x:Disease)<-[h:HAS_DISEASE]-(c:Case)-[r:RECEIVED]->(d:Drug)
WHERE r.role = 'exposure' AND r.negated = false AND h.negated = false
RETURN d.display AS drug, x.name AS defect, count(DISTINCT c) AS cases
ORDER BY cases DESC, drug LIMIT 25` },
  { name: "Patients of one gene, with outcomes", params: { symbol: "CD40LG" }, cypher:
`MATCH (c:Case)-[h:HAS_GENE]->(g:Gene {symbol: $symbol})
WHERE h.negated = false
RETURN c.id AS case_id, c.age_years AS age, c.sex AS sex, c.outcome AS outcome, c.months_to_outcome AS months
ORDER BY case_id` },
  { name: "Evidence of rituximab exposures", params: { drug: "rituximab" }, cypher:
`MATCH (c:Case)-[r:RECEIVED]->(d:Drug {name: $drug})
WHERE r.role = 'exposure' AND r.negated = false
RETURN c.id AS case_id, r.pmid AS pmid, r.sentence AS sentence
ORDER BY pmid` },
  { name: "Assertions the text denies", params: {}, cypher:
`MATCH (c:Case)-[r:RECEIVED]->(d)
WHERE r.negated = true
RETURN c.id AS case_id, coalesce(d.name, d.id) AS drug, r.sentence AS sentence` },
  { name: "Labels and relationship types", params: {}, cypher: "CALL db.labels()" },
];

function table(result) {
  if (!result.rows.length) return '<p class="caveat">No rows.</p>';
  const cols = result.columns;
  const cell = (v) => esc(typeof v === "object" && v !== null ? JSON.stringify(v) : v);
  return `<table class="results"><thead><tr>${cols.map((c) => `<th>${esc(c)}</th>`).join("")}</tr></thead><tbody>`
    + result.rows.map((r) => `<tr>${cols.map((c) => `<td>${cell(r[c])}</td>`).join("")}</tr>`).join("")
    + "</tbody></table>";
}

export function setupConsole(form, select, text, paramsInput, out) {
  select.innerHTML = EXAMPLES.map((e, i) => `<option value="${i}">${esc(e.name)}</option>`).join("");
  const pick = () => {
    const ex = EXAMPLES[Number(select.value)];
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
