// The HTTP API, and one place that turns its errors into a readable message.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function parse(resp) {
  let body = null;
  try { body = await resp.json(); } catch { /* not JSON */ }
  if (!resp.ok) {
    const err = body && body.error;
    const message = err ? err.message : `the server answered ${resp.status} ${resp.statusText}`;
    throw new ApiError(resp.status, err ? err.code : "http_error", message);
  }
  return body;
}

async function request(url, init) {
  let resp;
  try {
    resp = await fetch(url, init);
  } catch (e) {
    throw new ApiError(0, "network", `the pmlkg API cannot be reached (${e.message})`);
  }
  return parse(resp);
}

export function get(path, params = {}) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params)) {
    if (v !== null && v !== undefined && v !== "") url.searchParams.set(k, v);
  }
  return request(url);
}

export function post(path, body) {
  return request(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

export function explain(error) {
  if (error instanceof ApiError) {
    if (error.code === "store_unavailable") return `The graph store is not reachable, so there is nothing to show (start the embedded store with pmlkg db start, or check PMLKG_GRAPH_URI). ${error.message}`;
    return error.message;
  }
  return `Something went wrong in the page: ${error.message}`;
}
