// straitd's REST API as the page uses it: GET only, same origin, authenticated by the
// strait_session cookie (set by /login?code=...; straitd accepts it for GET requests only).
// Paths are relative to the page (no leading slash), so the dashboard also works under a prefix.

// An answer other than 2xx. `status` is 0 when straitd could not be reached at all (the message
// then says how it failed).
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }

  get unauthorized() {
    return this.status === 401;
  }
}

// A hung call fails after this, so that the next poll (chained after this one ends) comes.
const TIMEOUT_MS = 8000;

async function get(path, params = {}) {
  const url = new URL(`api/v1/${path}`, document.baseURI);
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, value);
  }
  let response;
  try {
    response = await fetch(url, {
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (e) {
    throw new ApiError(0, e.name === 'TimeoutError' ? `no answer in ${TIMEOUT_MS / 1000} s` : e.message);
  }
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep body null, the status says what happened
  }
  if (!response.ok) {
    // straitd's errors are {"error": "..."}. A 5xx without one comes from something in between
    // (the dev server's proxy, a reverse proxy) that could not reach straitd.
    if (body === null && response.status >= 500) {
      throw new ApiError(0, `HTTP ${response.status} from the proxy in between`);
    }
    const why = body && typeof body.error === 'string' ? body.error : response.statusText;
    throw new ApiError(response.status, `${response.status} ${why}`.trim());
  }
  return body;
}

// {version, revision}
export const version = () => get('version');

// {windowSeconds, bucketSeconds, services: [...], edges: [...]} (src/control/traffic_api.cc)
export const traffic = (window = '1m', namespace = '') => get('traffic', { window, namespace });

// {service, bucketSeconds, points: [{start, rps, failureShare, p99Ms}]}
export const trafficSeries = (service, window = '5m') => get('traffic/series', { service, window });

// {version, items: [{id, workload, namespace, status, proxyVersion, ackedVersion, ...}]}
export const proxies = () => get('proxies');

// {items: [{apiVersion, kind, metadata: {name, namespace, resourceVersion, generation, ...}, spec}]}
export const resources = (kind = '', namespace = '') => get('resources', { kind, namespace });

// {traces: [{traceId, rootService, rootName, startTime, durationMs, spanCount, services, error}]}
export const traces = (limit = 50) => get('traces', { limit });

// {traceId, spans: [{spanId, parentSpanId, name, kind, service, startUnixNano, durationMs, ...}]}
export const trace = (traceId) => get(`traces/${encodeURIComponent(traceId)}`);
