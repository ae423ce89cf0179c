// Kaplan-Meier curves of time from PML diagnosis to death (computed by the API with lifelines),
// drawn as an SVG step plot with its confidence band, censoring ticks and numbers at risk.

import { get } from "./api.js";
import { esc, fmt, fmtP } from "./util.js";

const COLOURS = ["#2c7bb6", "#c44e0c", "#4d9221", "#7b3294", "#a6611a", "#018571", "#5e3c99", "#525252"];
const W = 760, H = 380, M = { l: 52, r: 16, t: 14, b: 40 };

function path(steps, x, y) {
  let d = "";
  let last = null;
  for (const s of steps) {
    if (last === null) d += `M${x(s.t)},${y(s.survival)}`;
    else d += `H${x(s.t)}V${y(s.survival)}`;
    last = s;
  }
  return d;
}

function band(steps, x, y) {
  const up = [], down = [];
  steps.forEach((s, i) => {
    const next = steps[i + 1] ? steps[i + 1].t : s.t;
    up.push(`${x(s.t)},${y(s.ci_high)}`, `${x(next)},${y(s.ci_high)}`);
    down.unshift(`${x(next)},${y(s.ci_low)}`, `${x(s.t)},${y(s.ci_low)}`);
  });
  return up.concat(down).join(" ");
}

function valueAt(steps, t) {
  let v = 1;
  for (const s of steps) { if (s.t <= t) v = s.survival; else break; }
  return v;
}

let last = { key: null, data: null }; // the curves of the last request: toggling the bands redraws them

export async function drawSurvival(form, plot, noteEl, onError) {
  const params = Object.fromEntries(new FormData(form).entries());
  const bands = params.bands === "on";
  delete params.bands;
  if (params.group_by !== "exposure") delete params.drug;
  const key = JSON.stringify(params);
  let data = last.key === key ? last.data : null;
  if (data === null) {
    plot.innerHTML = '<p class="caveat">Loading…</p>';
    try {
      data = await get("/survival", params);
    } catch (e) {
      plot.innerHTML = "";
      onError(e);
      return null;
    }
    last = { key, data };
  }
  const seriesIn = data.series_considered - data.series_left_out;
  noteEl.textContent = `${data.note} ${data.patients - data.without_time} of ${data.patients} individually described `
    + `patients have a time; ${data.without_time} are left out. Of ${data.series_considered} series, `
    + `${data.series_left_out} (${data.series_patients_left_out} patients) are left out for want of a time per patient`
    + `${seriesIn ? `; ${seriesIn} enter the curves (one time and one outcome for all their patients)` : ""}.`;
  if (!data.groups.length) {
    plot.innerHTML = '<div class="empty">No patient with a reported time to outcome.</div>';
    return data;
  }
  const tMax = Math.max(6, ...data.at_risk_times);
  const x = (t) => M.l + (t / tMax) * (W - M.l - M.r);
  const y = (s) => M.t + (1 - s) * (H - M.t - M.b);
  let svg = `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="Kaplan-Meier curves">`;
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    svg += `<line x1="${M.l}" x2="${W - M.r}" y1="${y(v)}" y2="${y(v)}" stroke="#eef1f4"/>`
      + `<text x="${M.l - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end" fill="#5f6c7b">${v}</text>`;
  }
  for (const t of data.at_risk_times) {
    svg += `<text x="${x(t)}" y="${H - M.b + 16}" font-size="11" text-anchor="middle" fill="#5f6c7b">${t}</text>`;
  }
  svg += `<text x="${(W + M.l) / 2}" y="${H - 6}" font-size="12" text-anchor="middle" fill="#1f2933">months from PML diagnosis</text>`
    + `<text transform="translate(14,${(H - M.b) / 2}) rotate(-90)" font-size="12" text-anchor="middle" fill="#1f2933">surviving (reported)</text>`
    + `<line x1="${M.l}" x2="${M.l}" y1="${M.t}" y2="${H - M.b}" stroke="#5f6c7b"/>`
    + `<line x1="${M.l}" x2="${W - M.r}" y1="${H - M.b}" y2="${H - M.b}" stroke="#5f6c7b"/>`;
  data.groups.forEach((g, i) => {
    const c = COLOURS[i % COLOURS.length];
    const steps = [{ t: 0, survival: 1, ci_low: 1, ci_high: 1 }, ...g.steps.filter((s) => s.t > 0)];
    if (bands) svg += `<polygon class="km-band" points="${band(steps, x, y)}" fill="${c}" opacity="0.12"/>`;
    svg += `<path class="km-curve" data-group="${esc(g.name)}" d="${path(steps, x, y)}" fill="none" stroke="${c}" stroke-width="2"/>`;
    for (const t of g.censored) {
      const yy = y(valueAt(steps, t));
      svg += `<line class="km-censor" x1="${x(t)}" x2="${x(t)}" y1="${yy - 5}" y2="${yy + 5}" stroke="${c}" stroke-width="1.5"/>`;
    }
  });
  svg += "</svg>";
  let legend = '<div class="legend">';
  data.groups.forEach((g, i) => {
    legend += `<span style="--c:${COLOURS[i % COLOURS.length]}">${esc(g.name)}: ${g.patients} patients, ${g.deaths} deaths,`
      + ` median ${g.median_months === null ? "not reached" : fmt(g.median_months, 1) + " months"}</span>`;
  });
  legend += "</div>";
  let table = '<table class="at-risk"><caption class="caveat">Numbers at risk (| on a curve: censored)</caption>'
    + `<tr><th>months</th>${data.at_risk_times.map((t) => `<th>${t}</th>`).join("")}</tr>`;
  data.groups.forEach((g) => { table += `<tr><th>${esc(g.name)}</th>${g.at_risk.map((n) => `<td>${n}</td>`).join("")}</tr>`; });
  table += "</table>";
  const logrank = data.logrank ? `<p class="caveat">Log-rank test across ${data.logrank.groups} groups: p = ${fmtP(data.logrank.p)}.</p>` : "";
  plot.innerHTML = svg + legend + table + logrank;
  return data;
}
