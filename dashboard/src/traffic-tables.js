// The traffic view as tables: one row per edge (beside the graph) and one per service (golden
// signals). Each row carries the API's raw numbers in data-* attributes (data-rps,
// data-failure-share, data-p99-ms; "" for a null p99), the visible text is rounded.
import * as fmt from './format.js';
import { badge, h, lockIcon, renderTable } from './dom.js';
import { appColor, edgeTone, workloadId } from './graph.js';

const num = 'num';

function protocol(t) {
  return t.grpc ? badge('gRPC', 'info') : badge('HTTP', 'neutral');
}

function mtls(t) {
  return t.mtls ? badge([lockIcon(), 'mTLS'], 'ok', 'every request of the window was mutual TLS') : badge('plaintext', 'warn', 'not every request was mutual TLS');
}

function errors(t) {
  const tone = fmt.failureTone(t.failureShare) ?? 'muted';
  return h('span', { class: `share share-${tone}`, title: `${t.failures} of ${t.requests} requests failed` },
    fmt.percent(t.failureShare));
}

function clientErrors(t) {
  if (!t.clientErrors) return h('span', { class: 'share share-muted' }, '0');
  return h('span', { class: 'share share-denied', title: '4xx answers (refused by a policy, rate limited, ...)' },
    `${t.clientErrors} (${fmt.percent(t.clientErrors / t.requests)})`);
}

function workloadCell(w) {
  return h('span', { class: 'workload' },
    h('span', { class: 'swatch', style: { background: appColor(w.app) } }),
    workloadId(w));
}

// Short service name: "catalog.demo.svc.cluster.local" -> "catalog.demo".
function shortHost(host) {
  const i = host.indexOf('.svc.');
  return i > 0 ? host.slice(0, i) : host;
}

export function renderEdges(container, edges) {
  const sorted = [...edges].sort((a, b) =>
    workloadId(a.source).localeCompare(workloadId(b.source)) ||
    workloadId(a.destination).localeCompare(workloadId(b.destination)) ||
    a.destination.service.localeCompare(b.destination.service));
  renderTable(container, [
    { title: 'Source', cell: (e) => workloadCell(e.source) },
    { title: 'Destination', cell: (e) => workloadCell(e.destination) },
    { title: 'Service', cell: (e) => h('span', { title: e.destination.service }, shortHost(e.destination.service)) },
    { title: 'Protocol', cell: protocol },
    { title: 'Requests/s', class: num, cell: (e) => fmt.rps(e.rps) },
    { title: 'Requests', class: num, cell: (e) => e.requests.toLocaleString('en-US') },
    { title: 'Errors', class: num, help: '5xx, no response, or gRPC error', cell: errors },
    { title: '4xx', class: num, cell: clientErrors },
    { title: 'p50', class: num, cell: (e) => fmt.ms(e.p50Ms) },
    { title: 'p99', class: num, cell: (e) => fmt.ms(e.p99Ms) },
    { title: 'Security', cell: mtls },
  ], sorted, {
    key: (e) => `${workloadId(e.source)}->${e.destination.service}/${workloadId(e.destination)}`,
    rowAttrs: (e) => ({
      class: `tone-${edgeTone(e)}`,
      dataset: {
        testid: 'edge-row',
        source: workloadId(e.source),
        destination: workloadId(e.destination),
        service: e.destination.service,
        rps: fmt.raw(e.rps),
        requests: fmt.raw(e.requests),
        failureShare: fmt.raw(e.failureShare),
        clientErrors: fmt.raw(e.clientErrors),
        p99Ms: fmt.raw(e.p99Ms),
        mtls: String(e.mtls),
      },
    }),
    empty: 'No traffic in this window yet: proxies report every 5 s, in 10 s buckets.',
  });
}

// Busiest first (then by name): the services table's order, whose first is the default selection.
const byBusiest = (a, b) => b.rps - a.rps || a.service.localeCompare(b.service);

export function renderServices(container, services, selected, onSelect) {
  const sorted = [...services].sort(byBusiest);
  renderTable(container, [
    { title: 'Service', cell: (s) => h('span', { class: 'service-name', title: s.service }, shortHost(s.service)) },
    { title: 'Protocol', cell: protocol },
    { title: 'Requests/s', class: num, cell: (s) => fmt.rps(s.rps) },
    { title: 'Errors', class: num, help: '5xx, no response, or gRPC error', cell: errors },
    { title: '4xx', class: num, cell: clientErrors },
    { title: 'p50', class: num, cell: (s) => fmt.ms(s.p50Ms) },
    { title: 'p95', class: num, cell: (s) => fmt.ms(s.p95Ms) },
    { title: 'p99', class: num, cell: (s) => fmt.ms(s.p99Ms) },
    { title: 'Security', cell: mtls },
  ], sorted, {
    key: (s) => s.service,
    selectedKey: selected,
    onClick: (s) => onSelect(s.service),
    rowAttrs: (s) => ({
      dataset: {
        testid: 'service-row',
        service: s.service,
        rps: fmt.raw(s.rps),
        requests: fmt.raw(s.requests),
        failureShare: fmt.raw(s.failureShare),
        clientErrors: fmt.raw(s.clientErrors),
        p99Ms: fmt.raw(s.p99Ms),
        mtls: String(s.mtls),
      },
    }),
    empty: 'No service has had requests in this window yet.',
  });
}

// The busiest service, the default selection.
export function busiest(services) {
  return [...services].sort(byBusiest)[0]?.service;
}

export { shortHost };
