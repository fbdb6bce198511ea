// The proxies table: every sidecar straitd knows (/api/v1/proxies), its sync state, versions and
// how long its certificate has left. Rows: data-testid="proxy-row" data-proxy="<id>".
import * as fmt from './format.js';
import { badge, h, renderTable } from './dom.js';

const STATUS_TONES = { SYNCED: 'ok', STALE: 'warn', NACKED: 'bad', DISCONNECTED: 'muted' };

function status(p) {
  const tone = STATUS_TONES[p.status] || 'neutral';
  return badge(p.status, tone, p.error ? `rejected: ${p.error}` : undefined);
}

// A certificate with less than a quarter of its usual 24 h left is worth a look (renewal is at
// half-life, so a healthy one never gets there).
function certificate(p) {
  const left = p.certificateExpiresInSeconds;
  if (left === undefined) return h('span', { class: 'muted' }, 'none yet');
  const tone = left <= 0 ? 'bad' : left < 6 * 3600 ? 'warn' : 'plain';
  return h('span', { class: `cert cert-${tone}`, title: `expires ${p.certificateExpiry}` },
    fmt.timeLeft(left));
}

function configVersion(p) {
  if (!p.ackedVersion && !p.sentVersion) return h('span', { class: 'muted' }, '–');
  const behind = p.sentVersion && p.sentVersion !== p.ackedVersion;
  return h('span', { title: `sent ${p.sentVersion || '–'}, acknowledged ${p.ackedVersion || '–'}` },
    p.ackedVersion || '–', behind ? h('span', { class: 'muted' }, ` (sent ${p.sentVersion})`) : null);
}

export function renderProxies(container, proxies) {
  const items = [...proxies].sort((a, b) => a.id.localeCompare(b.id));
  renderTable(container, [
    { title: 'Proxy', cell: (p) => h('span', { class: 'mono' }, p.id) },
    { title: 'Sync', cell: status },
    { title: 'Services', cell: (p) => (p.services || []).join(', ') || '–' },
    { title: 'Identity', cell: (p) => h('span', { class: 'mono small', title: p.identity }, p.serviceAccount ? `sa/${p.serviceAccount}` : '–') },
    { title: 'Proxy version', cell: (p) => p.proxyVersion || '–' },
    { title: 'Config version', cell: configVersion },
    { title: 'Push→ack', class: 'num', cell: (p) => (p.lastPushToAckMs === undefined ? '–' : fmt.ms(p.lastPushToAckMs)) },
    { title: 'Certificate expires in', class: 'num', cell: certificate },
    { title: 'Connected', class: 'num', cell: (p) => h('span', { title: p.connectedAt }, fmt.ago(p.connectedAt)) },
  ], items, {
    key: (p) => p.id,
    rowAttrs: (p) => ({
      dataset: {
        testid: 'proxy-row',
        proxy: p.id,
        status: p.status,
        proxyVersion: p.proxyVersion || '',
        ackedVersion: p.ackedVersion || '',
        certificateExpiresInSeconds: fmt.raw(p.certificateExpiresInSeconds),
      },
    }),
    empty: 'No proxy has connected to straitd.',
  });
}

// "8 proxies, 8 synced" for the section header.
export function proxiesSummary(proxies) {
  const synced = proxies.filter((p) => p.status === 'SYNCED').length;
  return `${proxies.length} ${proxies.length === 1 ? 'proxy' : 'proxies'}, ${synced} synced`;
}
