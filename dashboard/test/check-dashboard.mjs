#!/usr/bin/env node
// Opens the dashboard in headless Chromium, waits for live data, takes screenshots, and prints
// what the page shows as ONE JSON object on stdout, read from the DOM's data-* attributes:
//   {url, nodes: [...], edges: [{source, destination, service, rps, failureShare, p99Ms, mtls}],
//    services: [{service, rps, failureShare, p99Ms}], proxies: [...ids], traces: N,
//    waterfallSpans: N, consoleErrors: [...], screenshots: [...files]}
// Numbers are the API's raw values (null for a p99 without requests). Exit 0 with the JSON, or
// non-zero with one line on stderr saying what failed (and DIR/failure.png when it could).
//
// Usage: node check-dashboard.mjs --url URL --screenshots DIR [--window 1m|5m|15m] [--timeout-seconds 60]
//   --window: the traffic window the page is switched to before it is read (default: the page's).
//                                 [--trace-timeout-seconds 30]
//   URL: straitctl dashboard's login URL (http://HOST:PORT/login?code=...), which redirects to
//   the dashboard; or, in development, the Vite dev server's URL.
//   --timeout-seconds: how long to wait for the first edge row; --trace-timeout-seconds: for a
//   trace (the sidecars sample, so the first may take a while); without one, "traces" is 0 and no
//   waterfall is opened, which is not a failure here.
// Environment: CHROMIUM (default /usr/bin/chromium).
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    screenshots: { type: 'string' },
    'timeout-seconds': { type: 'string', default: '60' },
    window: { type: 'string' },
    'trace-timeout-seconds': { type: 'string', default: '30' },
  },
});
if (!args.url || !args.screenshots) {
  console.error('usage: node check-dashboard.mjs --url LOGIN_URL --screenshots DIR [--timeout-seconds 60] [--trace-timeout-seconds 30]');
  process.exit(2);
}
const timeoutMs = Number(args['timeout-seconds']) * 1000;
const traceTimeoutMs = Number(args['trace-timeout-seconds']) * 1000;
const shotsDir = resolve(args.screenshots);
mkdirSync(shotsDir, { recursive: true });

class CheckError extends Error {}

const consoleErrors = [];
const screenshots = [];
let browser;
let page;

async function shot(name) {
  const file = join(shotsDir, name);
  await page.screenshot({ path: file, fullPage: true });
  screenshots.push(file);
}

async function openTab(name) {
  await page.click(`[data-tab="${name}"]`);
  await page.waitForSelector(`[data-panel="${name}"]:not([hidden])`, { timeout: 5000 });
}

// Waits for `selector`, failing early with the page's own message when it says it is not signed
// in (the login code was refused or the session cookie not accepted).
async function waitForData(selector, what, timeout = timeoutMs) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    if (await page.$(selector)) return;
    const auth = await page.$('[data-testid="auth-error"]:not([hidden])');
    if (auth) throw new CheckError(`the dashboard says: ${(await auth.textContent()).trim()}`);
    await page.waitForTimeout(250);
  }
  const state = await page.$eval('[data-testid="last-updated"]', (el) => el.textContent.trim()).catch(() => 'unknown');
  throw new CheckError(`no ${what} after ${Math.round(timeout / 1000)} s (${selector}; the page's refresh state: ${state})`);
}

// Everything the test compares, in one evaluation: one consistent snapshot of the DOM.
function readPage() {
  const num = (v) => (v === null || v === '' ? null : Number(v));
  const rows = (testid) => [...document.querySelectorAll(`[data-testid="${testid}"]`)];
  return {
    nodes: rows('graph-node').map((el) => el.dataset.workload),
    edges: rows('edge-row').map((el) => ({
      source: el.dataset.source,
      destination: el.dataset.destination,
      service: el.dataset.service,
      rps: num(el.dataset.rps),
      failureShare: num(el.dataset.failureShare),
      p99Ms: num(el.dataset.p99Ms),
      mtls: el.dataset.mtls === 'true',
    })),
    services: rows('service-row').map((el) => ({
      service: el.dataset.service,
      rps: num(el.dataset.rps),
      failureShare: num(el.dataset.failureShare),
      p99Ms: num(el.dataset.p99Ms),
    })),
    proxies: rows('proxy-row').map((el) => el.dataset.proxy),
    traces: rows('trace-row').length,
    waterfallSpans: rows('waterfall-span').length,
    trafficFetchedAt: document.getElementById('edges-table')?.dataset.fetchedAt ?? null,
    graphElements: window.straitGraph
      ? { nodes: window.straitGraph.nodes().not('[?isGroup]').length, edges: window.straitGraph.edges().length }
      : null,
  };
}

async function main() {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  page = await context.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));

  const response = await page.goto(args.url, { waitUntil: 'load', timeout: 30000 });
  if (!response || !response.ok()) {
    // straitd says why in a line of text (e.g. "This sign-in link is spent or has expired").
    const why = response ? (await response.text().catch(() => '')).split('\n')[0].trim() : '';
    throw new CheckError(`${args.url} answered ${response ? response.status() : 'nothing'}${why ? `: ${why}` : ''} (at ${page.url()})`);
  }

  // Overview: the graph, its workload list and the edge table (over the asked window).
  await waitForData('[data-testid="edge-row"]', 'edge rows');
  if (args.window) {
    const seconds = { '1m': '60', '5m': '300', '15m': '900' }[args.window];
    if (!seconds) throw new CheckError(`--window ${args.window}: give 1m, 5m or 15m`);
    await page.selectOption('#window', args.window);
    await page.waitForSelector(`#edges-table[data-window-seconds="${seconds}"]`, { timeout: 15000 });
    await waitForData('[data-testid="edge-row"]', 'edge rows');
  }
  await waitForData('[data-testid="graph-node"]', 'graph nodes', 10000);
  await page.waitForSelector('[data-testid="graph"][data-layout="done"]', { timeout: 10000 });
  await waitForData('[data-testid="proxy-row"]', 'proxy rows', 15000);
  await shot('overview.png');

  // Golden signals: the selected service's charts.
  await openTab('services');
  await waitForData('[data-testid="service-row"]', 'service rows', 10000);
  await page.waitForSelector('[data-testid="chart"] canvas', { timeout: 10000 });
  await page.waitForFunction(() => Number(document.getElementById('charts')?.dataset.points) > 0, null, { timeout: 15000 })
    .catch(() => {}); // an empty series still draws empty charts: not a failure here
  await shot('services.png');

  await openTab('proxies');
  await shot('proxies.png');

  // Config: the first resource's spec.
  await openTab('config');
  const resource = await page.$('[data-testid="resource-row"]');
  if (resource) {
    await resource.click();
    await page.waitForSelector('[data-testid="resource-row"].selected', { timeout: 5000 });
  }
  await shot('config.png');

  // Traces: click the trace with the most spans (a whole loadgen call), then its waterfall.
  await openTab('traces');
  await waitForData('[data-testid="trace-row"]', 'traces', traceTimeoutMs).catch((e) => {
    if (!(e instanceof CheckError) || e.message.startsWith('the dashboard says')) throw e;
  });
  const traceIds = await page.$$eval('[data-testid="trace-row"]', (rows) =>
    rows.map((r) => ({ id: r.dataset.traceId, spans: Number(r.dataset.spanCount) }))
      .sort((a, b) => b.spans - a.spans));
  if (traceIds.length > 0) {
    await page.click(`[data-testid="trace-row"][data-trace-id="${traceIds[0].id}"]`);
    await page.waitForSelector(`[data-testid="waterfall"][data-trace-id="${traceIds[0].id}"] [data-testid="waterfall-span"]`,
      { timeout: 10000 });
  }
  await shot('traces.png');

  const snapshot = await page.evaluate(readPage);
  return { url: args.url, ...snapshot, consoleErrors, screenshots };
}

try {
  const result = await main();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await browser.close();
} catch (e) {
  const message = e instanceof CheckError ? e.message : `${e.name}: ${e.message.split('\n')[0]}`;
  if (page) await page.screenshot({ path: join(shotsDir, 'failure.png'), fullPage: true }).catch(() => {});
  console.error(`check-dashboard: ${message}`);
  if (consoleErrors.length > 0) console.error(`check-dashboard: console errors: ${JSON.stringify(consoleErrors)}`);
  await browser?.close().catch(() => {});
  process.exit(1);
}
