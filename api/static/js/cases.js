// The patients behind a map cell, each with the sentences its facts rest on.

import { get } from "./api.js";
import { esc, highlighted, pubmedLink } from "./util.js";

function evidenceItem(label, ev) {
  if (!ev || !ev.sentence) return "";
  return `<li><span class="role">${esc(label)}</span><blockquote>${highlighted(ev)}</blockquote></li>`;
}

function num(x) {
  return Number.isInteger(x) ? String(x) : String(Math.round(x * 10) / 10);
}

// "median 8 months (2–30)", "mean 41 years", "8 months", "2–30 months": a series' summary as stated.
export function summaryText(s, unit) {
  if (!s) return null;
  const range = s.low !== null && s.high !== null ? `${num(s.low)}–${num(s.high)}` : null;
  if (s.median === null) return range ? `${range} ${unit}` : null;
  const kind = s.kind === "single" ? "" : `${s.kind || "median"} `;
  return `${kind}${num(s.median)} ${unit}${range ? ` (${range})` : ""}`;
}

// A series' group facts in one line: "rituximab in 3 of 11; 7 died; median 8 months (2–30)", the drug
// of the cell (``first``: its key or its class's) first.
export function seriesFacts(c, first = null) {
  const s = c.series;
  const n = s.cohort_size;
  const parts = s.drugs.filter((d) => d.role === "exposure")
    .sort((a, b) => (b.key === first) - (a.key === first))
    .map((d) => `${d.name || d.key} in ${d.n_patients !== null ? `${d.n_patients} of ${n}` : `some of ${n} (counted as 1)`}`);
  parts.push(s.deaths !== null ? `${s.deaths} died` : "deaths not stated");
  if (s.survivors !== null) parts.push(`${s.survivors} survived`);
  if (s.unknown_outcome) parts.push(`${s.unknown_outcome} outcome unknown`);
  const months = summaryText(s.months_to_outcome, "months");
  if (months) parts.push(months);
  const treated = s.drugs.filter((d) => d.role === "treatment")
    .map((d) => `${d.name || d.key}${d.n_patients !== null ? ` in ${d.n_patients}` : ""}`);
  if (treated.length) parts.push(`treated with ${treated.join(", ")}`);
  const age = summaryText(s.age_years, "years");
  if (age) parts.push(`age ${age}`);
  if (s.n_male !== null || s.n_female !== null) {
    parts.push([s.n_male !== null ? `${s.n_male} male` : null, s.n_female !== null ? `${s.n_female} female` : null]
      .filter(Boolean).join(", "));
  }
  const cd4 = summaryText(s.cd4_per_ul, "CD4/µL");
  if (cd4) parts.push(cd4);
  if (s.previously_published !== null) parts.push(`${s.previously_published} previously published`);
  return parts.join("; ");
}

const FACT_LABELS = {
  died: "deaths", survived: "survivors", months_to_outcome: "time", age_years: "age", sex: "sex",
  cd4_per_ul: "CD4", previously_published: "previously published", outcome: "outcome",
};

function seriesEvidence(c, shown) {
  let out = "";
  for (const [fact, ev] of Object.entries(c.series.evidence)) {
    if (shown.has(`${fact}\u0000${ev.sentence}`)) continue;
    const drug = fact.startsWith("drug:") ? c.series.drugs.find((d) => `drug:${d.key}` === fact) : null;
    const label = drug ? `${drug.name || drug.key} in ${drug.n_patients ?? "?"} of ${c.series.cohort_size}`
      : FACT_LABELS[fact] || fact;
    out += evidenceItem(label, ev);
  }
  return out;
}

export function caseCard(c, first = null) {
  const series = c.cohort_size > 1 && c.series;
  const who = [c.age_years !== null ? `${c.age_years}-year-old` : null, c.sex, c.cohort_size > 1 ? `series of ${c.cohort_size}` : null]
    .filter(Boolean).join(" ") || "patient";
  const defects = c.diseases.map((d) => d.name || d.id).join(", ") || "defect not named";
  const genes = c.genes.map((g) => g.symbol).join(", ");
  const exposures = c.drugs.filter((d) => d.role === "exposure").map((d) => d.name || d.key);
  const treatments = c.drugs.filter((d) => d.role === "treatment").map((d) => d.name || d.key);
  const outcome = c.outcome === "unknown" ? "outcome not reported"
    : `${c.outcome}${c.months_to_outcome !== null ? ` at ${c.months_to_outcome} months` : ""}`;
  let evidence = "";
  const shown = new Set(); // a series' drug count stated in the drug's own sentence is shown once, with the drug
  for (const d of c.diseases) evidence += evidenceItem(`defect: ${d.name || d.id}`, d.evidence);
  for (const d of c.drugs) {
    const count = series && d.n_patients !== null ? ` (${d.n_patients} of ${c.cohort_size})` : "";
    evidence += evidenceItem(`${d.role}: ${d.name || d.key}${count}`, d.evidence);
    if (count && d.evidence) shown.add(`drug:${d.key}\u0000${d.evidence.sentence}`);
  }
  for (const o of c.outcomes) {
    evidence += evidenceItem(`outcome: ${o.outcome}`, o.evidence);
    if (o.evidence) shown.add(`outcome\u0000${o.evidence.sentence}`);
  }
  if (series) evidence += seriesEvidence(c, shown);
  const facts = series
    ? `<p class="facts series-facts"><b>${esc(seriesFacts(c, first))}</b></p>`
    : `<p class="facts">Exposures: ${esc(exposures.join(", ") || "none reported")} · Treatments:
      ${esc(treatments.join(", ") || "none reported")} · <b>${esc(outcome)}</b>${c.cd4_per_ul !== null ? ` · CD4 ${c.cd4_per_ul}/µL` : ""}</p>`;
  return `<article class="case${series ? " series" : ""}" data-case="${esc(c.id)}">
    <h3>${esc(who)} — ${esc(defects)}${genes ? ` (${esc(genes)})` : ""}</h3>
    ${facts}
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
      + ` the drug, and their deaths only when its totals settle them); the records describe`
      + ` ${found.total_patients} patients in all.</p>`
      + found.items.map((c) => caseCard(c, item.row_key)).join("");
  } catch (e) {
    panel.innerHTML = "";
    onError(e);
  }
}
