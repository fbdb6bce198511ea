// The config resources straitd stores (/api/v1/resources): a table, filterable by kind, and the
// selected resource's spec as formatted JSON. Rows: data-testid="resource-row".
import * as fmt from './format.js';
import { badge, h, renderTable } from './dom.js';

const keyOf = (r) => `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`;

export class ConfigView {
  constructor({ table, spec, title, kindSelect }) {
    this.table = table;
    this.spec = spec;
    this.title = title;
    this.kindSelect = kindSelect;
    this.items = [];
    this.selected = null;
    kindSelect.addEventListener('change', () => this.render());
  }

  update(items) {
    this.items = items;
    this.renderKinds();
    this.render();
  }

  renderKinds() {
    const kinds = [...new Set(this.items.map((r) => r.kind))].sort();
    const current = this.kindSelect.value;
    const have = [...this.kindSelect.options].slice(1).map((o) => o.value);
    if (have.join() === kinds.join()) return;
    this.kindSelect.replaceChildren(h('option', { value: '' }, 'all'),
      ...kinds.map((k) => h('option', { value: k }, k)));
    this.kindSelect.value = kinds.includes(current) ? current : '';
  }

  render() {
    const kind = this.kindSelect.value;
    const shown = this.items
      .filter((r) => !kind || r.kind === kind)
      .sort((a, b) => a.kind.localeCompare(b.kind) || a.metadata.namespace.localeCompare(b.metadata.namespace) ||
        a.metadata.name.localeCompare(b.metadata.name));
    renderTable(this.table, [
      { title: 'Kind', cell: (r) => badge(r.kind, 'neutral', r.apiVersion) },
      { title: 'Namespace', cell: (r) => h('span', { class: 'nowrap' }, r.metadata.namespace) },
      { title: 'Name', cell: (r) => h('span', { class: 'mono' }, r.metadata.name) },
      { title: 'Resource version', class: 'num', cell: (r) => r.metadata.resourceVersion },
      { title: 'Generation', class: 'num', cell: (r) => String(r.metadata.generation) },
      { title: 'Created', class: 'num', cell: (r) => h('span', { title: r.metadata.creationTimestamp }, fmt.ago(r.metadata.creationTimestamp)) },
    ], shown, {
      key: keyOf,
      selectedKey: this.selected,
      onClick: (r) => {
        this.selected = keyOf(r);
        this.render();
      },
      rowAttrs: (r) => ({
        dataset: {
          testid: 'resource-row',
          kind: r.kind,
          namespace: r.metadata.namespace,
          name: r.metadata.name,
          resourceVersion: r.metadata.resourceVersion,
        },
      }),
      empty: kind ? `No ${kind} resources.` : 'No config resources: apply some with straitctl apply -f FILE.',
    });
    this.renderSpec();
  }

  renderSpec() {
    const r = this.items.find((item) => keyOf(item) === this.selected);
    if (!r) {
      this.title.textContent = 'Spec';
      this.spec.textContent = 'Click a resource to see its spec.';
      this.spec.classList.add('muted');
      return;
    }
    this.title.textContent = `${r.kind} ${r.metadata.namespace}/${r.metadata.name}`;
    this.spec.classList.remove('muted');
    const text = JSON.stringify(r.spec, null, 2);
    if (this.spec.textContent !== text) this.spec.textContent = text;
  }
}
