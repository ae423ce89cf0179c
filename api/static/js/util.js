// Small helpers shared by the views: HTML escaping, evidence highlighting, formatting.

export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// The sentence with the mention marked: offsets index the article text, so the mention starts at
// start - sentence_start inside the sentence (EvidenceRef in the API's schema).
export function highlighted(ev) {
  if (!ev || !ev.sentence) return "";
  const s = ev.sentence;
  const a = ev.start - ev.sentence_start;
  const b = ev.end - ev.sentence_start;
  if (!(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b <= s.length && a < b)) return esc(s);
  return esc(s.slice(0, a)) + "<mark>" + esc(s.slice(a, b)) + "</mark>" + esc(s.slice(b));
}

export function pubmedLink(pmid) {
  // a link the reader may follow; the page itself never requests anything off this machine
  return `<a href="https://pubmed.ncbi.nlm.nih.gov/${encodeURIComponent(pmid)}/" target="_blank" rel="noopener">PMID ${esc(pmid)}</a>`;
}

export function fmt(x, digits = 2) {
  if (x === null || x === undefined) return "–";
  if (Math.abs(x) >= 1000) return x.toExponential(1);
  return Number(x).toFixed(digits);
}

export function fmtP(p) {
  if (p === null || p === undefined) return "–";
  return p < 0.001 ? p.toExponential(1) : p.toFixed(3);
}
