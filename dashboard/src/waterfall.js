// One trace drawn as a waterfall: a row per span in tree order (children under their parent, by
// start time), indented by depth, with a bar placed by its start and length relative to the whole
// trace. Rows: data-testid="waterfall-span" with data-span-id, data-parent-span-id, data-depth,
// data-offset-ms, data-duration-ms.
import * as fmt from './format.js';
import { badge, h } from './dom.js';

const COLORS = ['#1a73e8', '#188038', '#9334e6', '#e37400', '#12a4af', '#b06000', '#c5221f', '#5f6368'];

// A stable color per service name.
function serviceColor(service) {
  let hash = 0;
  for (const c of service) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return COLORS[hash % COLORS.length];
}

// Spans in display order with their depth and offset (ms from the trace's first start).
// startUnixNano is a string of nanoseconds: subtracted as BigInt, beyond a double's precision.
export function layoutSpans(spans) {
  if (spans.length === 0) return { rows: [], totalMs: 0 };
  const starts = spans.map((s) => BigInt(s.startUnixNano));
  const first = starts.reduce((a, b) => (b < a ? b : a));
  const items = spans.map((s, i) => ({ span: s, offsetMs: Number(starts[i] - first) / 1e6 }));
  const byId = new Map(items.map((it) => [it.span.spanId, it]));
  const children = new Map();
  const roots = [];
  for (const it of items) {
    const parent = it.span.parentSpanId;
    // A span whose parent never arrived (or is itself) is drawn as a root.
    if (parent && parent !== it.span.spanId && byId.has(parent)) {
      children.set(parent, [...(children.get(parent) || []), it]);
    } else {
      roots.push(it);
    }
  }
  const byStart = (a, b) => a.offsetMs - b.offsetMs || a.span.name.localeCompare(b.span.name);
  const rows = [];
  const seen = new Set();
  const visit = (it, depth) => {
    if (seen.has(it.span.spanId)) return; // a cycle in bad data: draw each span once
    seen.add(it.span.spanId);
    rows.push({ ...it, depth });
    for (const child of (children.get(it.span.spanId) || []).sort(byStart)) visit(child, depth + 1);
  };
  for (const root of roots.sort(byStart)) visit(root, 0);
  for (const it of items) if (!seen.has(it.span.spanId)) visit(it, 0);
  const totalMs = Math.max(...rows.map((r) => r.offsetMs + r.span.durationMs));
  return { rows, totalMs };
}

function axis(totalMs) {
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) =>
    h('span', { class: 'tick', style: { left: `${f * 100}%` } }, f === 0 ? '0' : fmt.ms(f * totalMs)));
  return h('div', { class: 'wf-row wf-axis' }, h('div', { class: 'wf-label' }, 'span'), h('div', { class: 'wf-track' }, ticks));
}

// The duration beside its bar: right of it, or, when the bar reaches the right edge, inside its
// end (a long bar) or left of it (a short one).
function durationText(durationMs, left, width) {
  const text = fmt.ms(durationMs);
  if (left + width <= 82) return h('span', { class: 'wf-duration', style: { left: `calc(${left + width}% + 6px)` } }, text);
  if (width >= 10) return h('span', { class: 'wf-duration inside', style: { right: `calc(${100 - left - width}% + 6px)` } }, text);
  return h('span', { class: 'wf-duration', style: { right: `calc(${100 - left}% + 6px)` } }, text);
}

export function renderWaterfall(container, trace) {
  const { rows, totalMs } = layoutSpans(trace.spans);
  const scale = totalMs > 0 ? totalMs : 1;
  const lines = rows.map(({ span, depth, offsetMs }) => {
    const color = span.error ? '#d93025' : serviceColor(span.service);
    const left = (offsetMs / scale) * 100;
    const width = Math.max((span.durationMs / scale) * 100, 0.3);
    const attrs = Object.entries(span.attributes || {}).map(([k, v]) => `${k}: ${v}`).join('\n');
    return h('div', {
      class: `wf-row${span.error ? ' wf-error' : ''}`,
      title: `${span.service} ${span.name}\nstart +${fmt.ms(offsetMs)}, ${fmt.ms(span.durationMs)}${attrs ? `\n\n${attrs}` : ''}`,
      dataset: {
        testid: 'waterfall-span',
        spanId: span.spanId,
        parentSpanId: span.parentSpanId || '',
        depth: String(depth),
        service: span.service,
        offsetMs: String(offsetMs),
        durationMs: String(span.durationMs),
      },
    },
    h('div', { class: 'wf-label', style: { paddingLeft: `${8 + depth * 16}px` } },
      h('span', { class: 'wf-dot', style: { background: color } }),
      h('span', { class: 'wf-service' }, span.service),
      h('span', { class: 'wf-name' }, span.name),
      span.kind ? badge(String(span.kind).toLowerCase(), 'muted') : null,
      span.error ? badge('error', 'bad') : null),
    h('div', { class: 'wf-track' },
      h('div', { class: 'wf-bar', style: { left: `${left}%`, width: `${width}%`, background: color } }),
      durationText(span.durationMs, left, width)));
  });
  container.replaceChildren(axis(totalMs), ...lines);
  container.dataset.traceId = trace.traceId;
  container.dataset.spans = String(rows.length);
  return { spans: rows.length, totalMs };
}
