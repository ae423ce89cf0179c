// The drug x defect map: patient counts per cell, coloured by the share of known outcomes that were
// deaths; hovering shows counts, ROR and CI; clicking lists the patients behind the cell.

import { get } from "./api.js";
import { showCases, summaryText } from "./cases.js";
import { esc, fmt, fmtP } from "./util.js";

const NO_OUTCOME = "#c9d1da";

// blue (all survived) -> pale -> dark orange (all died): readable with the common colour-vision deficiencies
function fatalityColour(f) {
  const stops = [[0, [44, 123, 182]], [0.5, [230, 226, 214]], [1, [196, 78, 12]]];
  for (let i = 1; i < stops.length; i++) {
    const [t1, c1] = stops[i];
    const [t0, c0] = stops[i - 1];
    if (f <= t1) {
      const u = (f - t0) / (t1 - t0);
      return `rgb(${c0.map((c, k) => Math.round(c + (c1[k] - c) * u)).join(",")})`;
    }
  }
  return "rgb(196,78,12)";
}

// The series a cell counts: how many of each it counts, and what the series states for all its patients.
function seriesNote(item) {
  if (!item.series.length) return "";
  const each = item.series.map((s) => {
    const months = summaryText({ median: s.months_median, low: s.months_low, high: s.months_high, kind: s.months_kind }, "months");
    return [`${s.patients} of a series of ${s.cohort_size}`, s.deaths !== null ? `${s.deaths} of the series died` : null, months]
      .filter(Boolean).join(", ");
  });
  return `<br>series: ${each.map(esc).join("; ")}`;
}

export function mapParams(form) {
  const data = new FormData(form);
  const params = { limit: 1000, evidence_limit: 0 };
  for (const [k, v] of data.entries()) if (v !== "") params[k] = v;
  if (params.cols === "gene") delete params.category;
  return params;
}

export async function drawMap(form, container, casesPanel, tooltip, onError) {
  const params = mapParams(form);
  form.elements.category.disabled = params.cols === "gene";
  container.innerHTML = '<p class="caveat">Loading…</p>';
  let page;
  try {
    page = await get("/associations", params);
  } catch (e) {
    container.innerHTML = "";
    onError(e);
    return null;
  }
  const rows = new Map();
  const cols = new Map();
  for (const item of page.items) {
    rows.set(item.row_key, { name: item.row_name || item.row_key, total: (rows.get(item.row_key)?.total || 0) + item.patients });
    cols.set(item.col_key, { name: item.col_name || item.col_key, total: (cols.get(item.col_key)?.total || 0) + item.patients });
  }
  if (!page.items.length) {
    container.innerHTML = `<div class="empty">No reported patients match these filters.</div>`;
    casesPanel.innerHTML = "";
    return page;
  }
  const rowKeys = [...rows.keys()].sort((a, b) => rows.get(b).total - rows.get(a).total || a.localeCompare(b));
  const colKeys = [...cols.keys()].sort((a, b) => cols.get(b).total - cols.get(a).total || a.localeCompare(b));
  const cell = new Map(page.items.map((i) => [`${i.row_key}\u0000${i.col_key}`, i]));
  let html = '<table><thead><tr><th></th>';
  for (const c of colKeys) html += `<th scope="col" title="${esc(cols.get(c).name)}"><span>${esc(cols.get(c).name)}</span></th>`;
  html += "</tr></thead><tbody>";
  for (const r of rowKeys) {
    html += `<tr><th scope="row" title="${esc(rows.get(r).name)}">${esc(rows.get(r).name)}</th>`;
    for (const c of colKeys) {
      const item = cell.get(`${r}\u0000${c}`);
      if (!item) { html += "<td></td>"; continue; }
      const known = item.deaths + item.survivors;
      const f = known ? item.deaths / known : null;
      const colour = f === null ? NO_OUTCOME : fatalityColour(f);
      const light = f === null || (f > 0.3 && f < 0.7);
      html += `<td class="cell${light ? " light" : ""}" style="background:${colour}" data-row="${esc(r)}" data-col="${esc(c)}"`
        + ` data-patients="${item.patients}">${item.patients}</td>`;
    }
    html += "</tr>";
  }
  html += "</tbody></table>";
  const swatch = (colour, text) => `<span class="swatch"><i style="background:${colour}"></i>${text}</span>`;
  html += `<div class="legend-bar"><b>Deaths among known outcomes:</b> ${swatch(fatalityColour(0), "0%")}`
    + `${swatch(fatalityColour(0.5), "50%")}${swatch(fatalityColour(1), "100%")}${swatch(NO_OUTCOME, "no outcome known")}`
    + `<br>ROR and p compare each cell with all other ${page.cols === "gene" ? "genes" : "defects"} among `
    + `${page.universe_cases} reported cases: ${esc(page.denominator)}.</div>`;
  container.innerHTML = html;

  container.querySelectorAll("td.cell").forEach((td) => {
    const item = cell.get(`${td.dataset.row}\u0000${td.dataset.col}`);
    td.addEventListener("mouseenter", () => {
      tooltip.hidden = false;
      tooltip.innerHTML = `<b>${esc(item.row_name)} × ${esc(item.col_name)}</b><br>`
        + `${item.patients} patients in ${item.articles} articles (${esc(page.role)})<br>`
        + `died ${item.deaths} · survived ${item.survivors} · unknown ${item.unknown_outcome}`
        + (item.median_months_to_death !== null ? `<br>median time to death ${fmt(item.median_months_to_death, 1)} months`
          + ` (${item.timed_deaths} ${item.timed_deaths === 1 ? "death" : "deaths"} with a time of their own)` : "")
        + seriesNote(item)
        + `<br>ROR ${fmt(item.ror)} (95% CI ${fmt(item.ror_ci_low)}–${fmt(item.ror_ci_high)})`
        + `${item.haldane_corrected ? " Haldane-corrected" : ""} · Fisher p ${fmtP(item.fisher_p)}`;
    });
    td.addEventListener("mousemove", (ev) => {
      tooltip.style.left = `${ev.clientX + 14}px`;
      tooltip.style.top = `${ev.clientY + 14}px`;
    });
    td.addEventListener("mouseleave", () => { tooltip.hidden = true; });
    td.addEventListener("click", () => {
      container.querySelectorAll("td.selected").forEach((x) => x.classList.remove("selected"));
      td.classList.add("selected");
      showCases(casesPanel, page, item, onError, { year_min: params.year_min, year_max: params.year_max });
    });
  });
  casesPanel.innerHTML = '<p class="caveat">Click a cell to list its patients with their evidence.</p>';
  return page;
}
