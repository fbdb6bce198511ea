// The dashboard's entry: tabs, the 5 s refresh of every section, the header's state, and the
// banner for a missing sign-in or an unreachable straitd. Each section renders from its module;
// a section whose call fails shows why and keeps its last data.
import './style.css';
import * as api from './api.js';
import * as fmt from './format.js';
import { h, showError } from './dom.js';
import { ServiceGraph, workloadId } from './graph.js';
import { busiest, renderEdges, renderServices, shortHost } from './traffic-tables.js';
import { GoldenCharts } from './charts.js';
import { proxiesSummary, renderProxies } from './proxies.js';
import { ConfigView } from './config.js';
import { TracesView } from './traces.js';

const REFRESH_MS = 5000;
const TRACE_LIMIT = 50;
const NOT_SIGNED_IN = 'Not signed in: run `straitctl dashboard` and open the URL it prints.';

const $ = (id) => document.getElementById(id);

const state = {
  window: $('window').value,
  selectedService: null, // chosen by a click; otherwise the busiest
  userChoseService: false,
  lastSuccess: null,
};

const graph = new ServiceGraph($('graph'), $('node-list'), $('graph-empty'));
const charts = new GoldenCharts($('charts'));
const configView = new ConfigView({ table: $('config-table'), spec: $('spec'), title: $('spec-title'), kindSelect: $('config-kind') });
const tracesView = new TracesView({ table: $('traces-table'), waterfall: $('waterfall'), title: $('waterfall-title'), hint: $('waterfall-hint') }, api.trace);

// --- tabs: #overview, #services, #proxies, #config, #traces ---

function showTab() {
  const name = location.hash.slice(1);
  const panels = [...document.querySelectorAll('[data-panel]')];
  const active = panels.some((p) => p.dataset.panel === name) ? name : 'overview';
  for (const panel of panels) panel.hidden = panel.dataset.panel !== active;
  for (const tab of document.querySelectorAll('[data-tab]')) {
    const on = tab.dataset.tab === active;
    tab.classList.toggle('active', on);
    tab.setAttribute('aria-selected', String(on));
  }
}
window.addEventListener('hashchange', showTab);
showTab();

// --- header and banner ---

function setRefreshState(kind, text) {
  const el = $('last-updated');
  el.dataset.state = kind;
  el.querySelector('.refresh-text').textContent = text;
}

function setBanner(kind, text) {
  const banner = $('banner');
  banner.hidden = !text;
  banner.className = `banner banner-${kind}`;
  banner.dataset.testid = kind === 'auth' ? 'auth-error' : 'connection-error';
  banner.textContent = text || '';
}

// --- sections ---

function renderCards(traffic, proxies) {
  const requests = traffic.services.reduce((n, s) => n + s.requests, 0);
  const failures = traffic.services.reduce((n, s) => n + s.failures, 0);
  const rps = traffic.services.reduce((n, s) => n + s.rps, 0);
  const workloads = new Set(traffic.edges.flatMap((e) => [workloadId(e.source), workloadId(e.destination)]));
  const mtlsEdges = traffic.edges.filter((e) => e.mtls).length;
  const card = (label, value, detail, tone = '') =>
    h('div', { class: `stat ${tone}`, dataset: { testid: 'stat' } },
      h('div', { class: 'stat-label' }, label),
      h('div', { class: 'stat-value' }, value),
      h('div', { class: 'stat-detail' }, detail));
  const share = requests > 0 ? failures / requests : 0;
  const cards = [
    card('Requests/s', fmt.rps(rps), `${requests.toLocaleString('en-US')} requests in ${traffic.windowSeconds} s`),
    card('Error share', fmt.percent(share), `${failures} failed (5xx, no response, gRPC error)`,
      fmt.failureTone(share) ?? 'good'),
    card('Services', String(traffic.services.length), `${workloads.size} workloads with traffic`),
    card('mTLS edges', `${mtlsEdges} / ${traffic.edges.length}`, 'edges where every call was mutual TLS',
      traffic.edges.length > 0 && mtlsEdges === traffic.edges.length ? 'good' : ''),
  ];
  if (proxies) {
    const synced = proxies.filter((p) => p.status === 'SYNCED').length;
    cards.push(card('Proxies synced', `${synced} / ${proxies.length}`, 'acknowledged the latest config',
      proxies.length === 0 ? '' : synced === proxies.length ? 'good' : 'warn'));
  }
  $('summary-cards').replaceChildren(...cards);
}

function selectService(service) {
  state.selectedService = service;
  state.userChoseService = true;
  refresh();
}

async function renderTraffic(traffic) {
  graph.update(traffic.edges);
  renderEdges($('edges-table'), traffic.edges);
  $('edges-table').dataset.fetchedAt = new Date().toISOString();
  $('edges-table').dataset.windowSeconds = String(traffic.windowSeconds);
  $('edges-hint').textContent = `${traffic.edges.length} edges over the last ${traffic.windowSeconds} s`;
  // Until the user picks one, follow the busiest service; a picked one stays, even when idle.
  if (!state.userChoseService || !state.selectedService) {
    state.selectedService = busiest(traffic.services) ?? null;
  }
  renderServices($('services-table'), traffic.services, state.selectedService, selectService);
  $('charts-title').textContent = state.selectedService
    ? `Golden signals: ${shortHost(state.selectedService)}`
    : 'Golden signals';
  if (!state.selectedService) {
    charts.show(null);
    return;
  }
  // The series is part of this refresh: a failure shows in the charts' card.
  try {
    charts.show(await api.trafficSeries(state.selectedService, '5m'));
    showError($('charts'), null);
  } catch (e) {
    showError($('charts'), e instanceof api.ApiError && (e.unauthorized || e.status === 0) ? null : e);
    throw e;
  }
}

// --- the refresh loop ---

let running = null;
let again = false;
let timer = null;

async function refresh() {
  if (running) {
    again = true; // one more right after this one, with the newest settings
    return running;
  }
  clearTimeout(timer);
  setRefreshState('loading', state.lastSuccess ? `updated ${fmt.clock(state.lastSuccess)}` : 'loading…');
  running = refreshOnce().finally(() => {
    running = null;
    if (again) {
      again = false;
      refresh();
    } else {
      timer = setTimeout(refresh, REFRESH_MS);
    }
  });
  return running;
}

async function refreshOnce() {
  const [version, traffic, proxies, resources, traces] = await Promise.allSettled([
    api.version(),
    api.traffic(state.window),
    api.proxies(),
    api.resources(),
    api.traces(TRACE_LIMIT),
  ]);
  const errors = [];
  // A missing sign-in or an unreachable straitd shows once, in the banner, not in every section.
  const global = (e) => e instanceof api.ApiError && (e.unauthorized || e.status === 0);
  const settle = async (result, container, render) => {
    if (result.status === 'rejected') {
      errors.push(result.reason);
      if (container) showError(container, global(result.reason) ? null : result.reason);
      return;
    }
    if (container) showError(container, null);
    try {
      await render(result.value);
    } catch (e) {
      errors.push(e);
      // A bug in the page, not an API answer: an error, so that the browser check sees it.
      if (!(e instanceof api.ApiError)) console.error('dashboard: render failed', e);
    }
  };
  await settle(version, null, (v) => {
    $('version').textContent = `straitd ${v.version} · config revision ${v.revision}`;
  });
  await settle(proxies, $('proxies-table'), (p) => {
    renderProxies($('proxies-table'), p.items);
    $('proxies-hint').textContent = proxiesSummary(p.items);
  });
  await settle(traffic, $('edges-table'), async (t) => {
    renderCards(t, proxies.status === 'fulfilled' ? proxies.value.items : null);
    await renderTraffic(t);
  });
  await settle(resources, $('config-table'), (r) => configView.update(r.items));
  await settle(traces, $('traces-table'), (t) => tracesView.update(t.traces));

  const unauthorized = errors.some((e) => e instanceof api.ApiError && e.unauthorized);
  const unreachable = errors.some((e) => e instanceof api.ApiError && e.status === 0);
  if (unauthorized) {
    setBanner('auth', NOT_SIGNED_IN);
  } else if (unreachable) {
    const how = errors.find((e) => e instanceof api.ApiError && e.status === 0).message;
    setBanner('down', `Cannot reach straitd (${how}); retrying every ${REFRESH_MS / 1000} s.`);
  } else {
    setBanner('', null);
  }

  // "updated" is the last refresh that brought data; a section that failed says why itself.
  if (!unauthorized && !unreachable) state.lastSuccess = new Date();
  if (errors.length === 0) {
    setRefreshState('ok', `updated ${fmt.clock(state.lastSuccess)}`);
  } else {
    const when = state.lastSuccess ? `updated ${fmt.clock(state.lastSuccess)}` : 'no data';
    const what = unauthorized ? 'not signed in' : unreachable ? 'straitd unreachable' : `${errors.length} call${errors.length > 1 ? 's' : ''} failed`;
    setRefreshState(unauthorized || unreachable ? 'error' : 'partial', `${when} · ${what}`);
  }
}

$('window').addEventListener('change', (e) => {
  state.window = e.target.value;
  refresh();
});

refresh();
