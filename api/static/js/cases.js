// The patients behind a map cell, each with the sentences its facts rest on.

import { get } from "./api.js";
import { esc, highlighted, pubmedLink } from "./util.js";

function evidenceItem(label, ev) {
  if (!ev || !ev.sentence) return "";
  return `<li><span class="role">${esc(label)}</span><blockquote>${highlighted(ev)}</blockquote></li>`;
}

export function caseCard(c) {
  const who = [c.age_years !== null ? `${c.age_years}-year-old` : null, c.sex, c.cohort_size > 1 ? `series of ${c.cohort_size}` : null]
    .filter(Boolean).join(" ") || "patient";
  const defects = c.diseases.map((d) => d.name || d.id).join(", ") || "defect not named";
  const genes = c.genes.map((g) => g.symbol).join(", ");
  const exposures = c.drugs.filter((d) => d.role === "exposure").map((d) => d.name || d.key);
  const treatments = c.drugs.filter((d) => d.role === "treatment").map((d) => d.name || d.key);
  const outcome = c.outcome === "unknown" ? "outcome not reported"
    : `${c.outcome}${c.months_to_outcome !== null ? ` at ${c.months_to_outcome} months` : ""}`;
  let evidence = "";
  for (const d of c.diseases) evidence += evidenceItem(`defect: ${d.name || d.id}`, d.evidence);
  for (const d of c.drugs) evidence += evidenceItem(`${d.role}: ${d.name || d.key}`, d.evidence);
  for (const o of c.outcomes) evidence += evidenceItem(`outcome: ${o.outcome}`, o.evidence);
  return `<article class="case" data-case="${esc(c.id)}">
    <h3>${esc(who)} — ${esc(defects)}${genes ? ` (${esc(genes)})` : ""}</h3>
    <p class="facts">Exposures: ${esc(exposures.join(", ") || "none reported")} · Treatments:
      ${esc(treatments.join(", ") || "none reported")} · <b>${esc(outcome)}</b>${c.cd4_per_ul !== null ? ` · CD4 ${c.cd4_per_ul}/µL` : ""}</p>
    <p class="facts">${esc(c.publication.title || "")} ${c.publication.year ? `(${c.publication.year})` : ""} · ${pubmedLink(c.pmid)} · case ${esc(c.id)}</p>
    <ul>${evidence}</ul>
  </article>`;
}

export async function showCases(panel, page, item, onError, years = {}) {
  const params = { drug: item.row_key, role: page.role, limit: 200, attributable: true, ...years };
  params[page.cols === "gene" ? "gene" : "defect"] = item.col_key;
  const heading = `<h2>${esc(item.row_name)} × ${esc(item.col_name)}</h2>`;
  panel.innerHTML = `${heading}<p class="caveat">Loading…</p>`;
  try {
    const found = await get("/patients", params);
    panel.innerHTML = heading
      + `<p class="caveat">${found.patients_given_drug} patients given ${esc(item.row_name)}`
      + ` ${page.role === "treatment" ? "for" : "before"} PML`
      + ` in ${found.total_cases} case records, as the map counts them (a series counts those it says received`
      + ` the drug); the records describe ${found.total_patients} patients in all.</p>`
      + found.items.map(caseCard).join("");
  } catch (e) {
    panel.innerHTML = "";
    onError(e);
  }
}
