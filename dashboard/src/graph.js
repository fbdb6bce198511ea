// The live service graph: one node per workload ("workload.namespace"), boxed and colored by app,
// one edge per traffic edge (caller workload -> destination workload, per destination service),
// laid out left to right by dagre.
//
// Contract: update(edges) takes the traffic API's `edges` and changes the graph in place. Node
// positions stay where they are (and where the user dragged them) unless the set of nodes changes,
// which re-runs the layout. The instance is window.straitGraph; the container's data-layout is
// "done" once a layout has run. The workload list beside the graph has one
// data-testid="graph-node" element per node (the canvas itself has no DOM per node).
import cytoscape from 'cytoscape';
import dagre from 'cytoscape-dagre';
import * as fmt from './format.js';
import { h } from './dom.js';

cytoscape.use(dagre);

// Distinguishable hues, given to apps in order of first sight (stable for the page's life).
const PALETTE = ['#1f77b4', '#2ca02c', '#9467bd', '#8c564b', '#17becf', '#bcbd22', '#e377c2',
  '#7f7f7f', '#393b79', '#637939', '#843c39', '#7b4173'];
const appColors = new Map();

export function appColor(app) {
  if (!app || app === 'unknown') return '#9aa3ad';
  if (!appColors.has(app)) appColors.set(app, PALETTE[appColors.size % PALETTE.length]);
  return appColors.get(app);
}

// The color mixed with white: `amount` of the color.
function tint(hex, amount) {
  const n = parseInt(hex.slice(1), 16);
  const mix = (c) => Math.round(c * amount + 255 * (1 - amount));
  const r = mix(n >> 16), g = mix((n >> 8) & 255), b = mix(n & 255);
  return `rgb(${r}, ${g}, ${b})`;
}

export const workloadId = (w) => `${w.workload}.${w.namespace}`;

// An edge's health, for its color: failures (5xx, resets, gRPC errors) first, then refusals (4xx).
export function edgeTone(e) {
  const failing = fmt.failureTone(e.failureShare);
  if (failing) return failing;
  if (e.requests > 0 && e.clientErrors / e.requests >= 0.5) return 'denied';
  return 'ok';
}

const TONE_COLORS = { ok: '#8a9bb0', warn: '#e8710a', bad: '#d93025', denied: '#8e44ad' };

function edgeLabel(e) {
  const first = `${fmt.rps(e.rps)} rps · ${fmt.percent(e.failureShare)} err`;
  const parts = [`p99 ${fmt.ms(e.p99Ms)}`];
  if (e.clientErrors > 0 && e.requests > 0) parts.push(`4xx ${fmt.percent(e.clientErrors / e.requests)}`);
  if (e.mtls) parts.push('mTLS'); // text, not 🔒: the canvas may have no emoji font
  return `${first}\n${parts.join(' · ')}`;
}

// The graph's elements from the API's edges.
function model(edges) {
  const nodes = new Map(); // id -> data
  const node = (w) => {
    const id = workloadId(w);
    if (!nodes.has(id)) {
      nodes.set(id, { id, label: id, app: w.app || '', namespace: w.namespace, inRequests: 0,
        inFailures: 0, inRps: 0 });
    }
    return nodes.get(id);
  };
  const maxRps = Math.max(1, ...edges.map((e) => e.rps));
  const links = edges.map((e) => {
    const source = node(e.source);
    const target = node(e.destination);
    target.inRequests += e.requests;
    target.inFailures += e.failures;
    target.inRps += e.rps;
    return {
      id: `${source.id}->${e.destination.service}/${target.id}`,
      source: source.id,
      target: target.id,
      label: edgeLabel(e),
      tone: edgeTone(e),
      width: 1.5 + 4.5 * Math.sqrt(e.rps / maxRps),
      rps: e.rps,
      failureShare: e.failureShare,
      p99Ms: e.p99Ms,
      mtls: e.mtls,
    };
  });
  // Box the workloads of an app that has more than one (catalog-v1 and catalog-v2 in "catalog").
  const members = new Map();
  for (const n of nodes.values()) {
    if (!n.app || n.app === 'unknown') continue;
    const key = `app:${n.namespace}/${n.app}`;
    members.set(key, [...(members.get(key) || []), n]);
  }
  const groups = [];
  for (const [id, list] of members) {
    if (list.length < 2) continue;
    const app = list[0].app;
    groups.push({ id, label: `${app}.${list[0].namespace}`, app, color: appColor(app),
      fill: tint(appColor(app), 0.06), isGroup: true });
    for (const n of list) n.parent = id;
  }
  for (const n of [...nodes.values()].sort((a, b) => a.id.localeCompare(b.id))) {
    const color = appColor(n.app);
    n.color = color;
    n.fill = tint(color, 0.16);
    n.width = Math.max(90, n.label.length * 7.2 + 26);
    n.failing = n.inRequests > 0 && fmt.failureTone(n.inFailures / n.inRequests) === 'bad';
  }
  return { nodes: [...nodes.values()], groups, links };
}

const STYLE = [
  {
    selector: 'node[width]', // workloads (groups have no width: they wrap their members)
    style: {
      shape: 'round-rectangle',
      width: 'data(width)',
      height: 34,
      'background-color': 'data(fill)',
      'border-width': 2,
      'border-color': 'data(color)',
      label: 'data(label)',
      'font-family': 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
      'font-size': 12,
      'font-weight': 600,
      color: '#1d2733',
      'text-valign': 'center',
      'text-halign': 'center',
    },
  },
  { selector: 'node[?failing]', style: { 'border-color': '#d93025', 'border-width': 3 } },
  {
    selector: 'node[?isGroup]',
    style: {
      shape: 'round-rectangle',
      'background-color': 'data(fill)',
      'border-width': 1,
      'border-style': 'dashed',
      'border-color': 'data(color)',
      label: 'data(label)',
      'font-size': 11,
      'font-weight': 600,
      color: 'data(color)',
      'text-valign': 'top',
      'text-halign': 'center',
      'text-margin-y': -4,
      padding: 12,
    },
  },
  {
    selector: 'edge',
    style: {
      width: 'data(width)',
      'curve-style': 'bezier',
      'line-color': '#8a9bb0',
      'target-arrow-color': '#8a9bb0',
      'target-arrow-shape': 'triangle',
      'arrow-scale': 0.9,
      label: 'data(label)',
      'font-family': 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
      'font-size': 11,
      color: '#33404d',
      'text-wrap': 'wrap',
      'text-background-color': '#ffffff',
      'text-background-opacity': 0.9,
      'text-background-padding': 2,
      'text-background-shape': 'round-rectangle',
      'text-border-color': '#d5dbe3',
      'text-border-width': 1,
      'text-border-opacity': 1,
    },
  },
  ...Object.entries(TONE_COLORS).map(([tone, color]) => ({
    selector: `edge[tone = "${tone}"]`,
    style: { 'line-color': color, 'target-arrow-color': color, ...(tone === 'ok' ? {} : { color }) },
  })),
  { selector: 'edge[tone = "denied"]', style: { 'line-style': 'dashed' } },
  { selector: 'node:selected', style: { 'border-color': '#1a73e8', 'border-width': 3 } },
  { selector: 'edge:selected', style: { 'line-color': '#1a73e8', 'target-arrow-color': '#1a73e8' } },
  { selector: '.faded', style: { opacity: 0.25 } },
];

const LAYOUT = {
  name: 'dagre',
  rankDir: 'LR',
  nodeSep: 56,
  rankSep: 210,
  edgeSep: 24,
  fit: true,
  padding: 28,
  animate: false,
};

export class ServiceGraph {
  constructor(container, nodeList, emptyNote) {
    this.container = container;
    this.nodeList = nodeList;
    this.emptyNote = emptyNote;
    this.cy = cytoscape({
      container,
      style: STYLE,
      minZoom: 0.25,
      maxZoom: 2,
      boxSelectionEnabled: false,
    });
    window.straitGraph = this.cy;
    // Hovering a node fades what is not connected to it.
    this.cy.on('mouseover', 'node', (e) => this.focus(e.target));
    this.cy.on('mouseout', 'node', () => this.focus(null));
    // The panel may be hidden (another tab) or resized: keep the canvas in step.
    new ResizeObserver(() => {
      if (container.clientWidth === 0) return;
      this.cy.resize();
      if (this.needsFit) {
        this.needsFit = false;
        this.cy.fit(undefined, LAYOUT.padding);
      }
    }).observe(container);
  }

  focus(node) {
    this.cy.elements().removeClass('faded');
    if (!node || node.data('isGroup')) return;
    const keep = node.closedNeighborhood().union(node.closedNeighborhood().parents());
    this.cy.elements().not(keep).addClass('faded');
  }

  update(edges) {
    const { nodes, groups, links } = model(edges);
    const cy = this.cy;
    const wanted = new Set([...groups, ...nodes, ...links].map((d) => d.id));
    const before = new Set(cy.nodes().map((n) => n.id()));
    let nodesChanged = false;
    cy.batch(() => {
      cy.elements().filter((el) => !wanted.has(el.id())).remove();
      for (const data of [...groups, ...nodes]) {
        const el = cy.getElementById(data.id);
        if (el.empty()) {
          cy.add({ group: 'nodes', data });
        } else {
          if ((el.data('parent') ?? null) !== (data.parent ?? null)) el.move({ parent: data.parent ?? null });
          el.data(data);
        }
      }
      for (const data of links) {
        const el = cy.getElementById(data.id);
        if (el.empty()) cy.add({ group: 'edges', data });
        else el.data(data);
      }
    });
    const after = new Set(cy.nodes().map((n) => n.id()));
    nodesChanged = before.size !== after.size || [...after].some((id) => !before.has(id));
    if (nodesChanged && after.size > 0) this.layout();
    this.emptyNote.hidden = edges.length > 0;
    this.renderNodeList(nodes);
  }

  layout() {
    this.container.dataset.layout = 'running';
    const layout = this.cy.layout(LAYOUT);
    layout.one('layoutstop', () => {
      this.container.dataset.layout = 'done';
      // Laid out while hidden (another tab): fit once the panel is shown.
      if (this.container.clientWidth === 0) this.needsFit = true;
    });
    layout.run();
  }

  // The workloads beside the graph, by app: the accessible (and testable) view of the nodes.
  renderNodeList(nodes) {
    const byApp = new Map();
    for (const n of nodes) byApp.set(n.app, [...(byApp.get(n.app) || []), n]);
    const items = [...byApp.keys()].sort().map((app) =>
      h('li', { class: 'node-group' },
        h('div', { class: 'node-app' },
          h('span', { class: 'swatch', style: { background: appColor(app) } }),
          app || 'no app label'),
        h('ul', {}, byApp.get(app).map((n) =>
          h('li', {
            class: `node-item${n.failing ? ' failing' : ''}`,
            dataset: { testid: 'graph-node', workload: n.id, app: n.app },
            title: 'highlight in the graph',
            onmouseenter: () => this.focus(this.cy.getElementById(n.id)),
            onmouseleave: () => this.focus(null),
          },
          h('span', { class: 'node-name' }, n.id),
          h('span', { class: 'node-rps' }, n.inRequests > 0 ? `${fmt.rps(n.inRps)} rps in` : 'caller'))))));
    if (items.length === 0) items.push(h('li', { class: 'empty' }, 'None with traffic in this window.'));
    this.nodeList.replaceChildren(...items);
  }
}
