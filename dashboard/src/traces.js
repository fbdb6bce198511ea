// Recent traces (/api/v1/traces) and, for the one clicked, its waterfall (/api/v1/traces/{id}).
// Rows: data-testid="trace-row" data-trace-id data-span-count data-duration-ms.
import * as fmt from './format.js';
import { badge, h, renderTable, showError } from './dom.js';
import { renderWaterfall } from './waterfall.js';

export class TracesView {
  // fetchTrace(traceId) -> Promise of the API's {traceId, spans}
  constructor({ table, waterfall, title, hint }, fetchTrace) {
    this.table = table;
    this.waterfall = waterfall;
    this.title = title;
    this.hint = hint;
    this.fetchTrace = fetchTrace;
    this.traces = [];
    this.selected = null; // trace id
    this.loadedSpanCount = -1; // of the selected trace as drawn
  }

  update(traces) {
    this.traces = traces;
    this.render();
    // Spans of a recent trace may still be arriving: redraw when its count grew.
    const current = traces.find((t) => t.traceId === this.selected);
    if (current && current.spanCount !== this.loadedSpanCount) this.load(this.selected);
  }

  render() {
    renderTable(this.table, [
      { title: 'Start', class: 'num', cell: (t) => h('span', { title: t.startTime }, fmt.clockMs(new Date(t.startTime))) },
      { title: 'Root service', cell: (t) => h('span', { class: 'mono' }, t.rootService) },
      { title: 'Root span', cell: (t) => t.rootName },
      { title: 'Duration', class: 'num', cell: (t) => fmt.ms(t.durationMs) },
      { title: 'Spans', class: 'num', cell: (t) => String(t.spanCount) },
      { title: 'Services', cell: (t) => h('span', { class: 'small', title: t.services.join('\n') }, `${t.services.length}: ${t.services.join(', ')}`) },
      { title: 'Status', cell: (t) => (t.error ? badge('error', 'bad') : badge('ok', 'ok')) },
    ], this.traces, {
      key: (t) => t.traceId,
      selectedKey: this.selected,
      onClick: (t) => this.select(t.traceId),
      rowAttrs: (t) => ({
        dataset: {
          testid: 'trace-row',
          traceId: t.traceId,
          spanCount: String(t.spanCount),
          durationMs: String(t.durationMs),
          rootService: t.rootService,
        },
      }),
      empty: 'No traces yet: the sidecars send their spans to straitd as requests flow.',
    });
  }

  select(traceId) {
    this.selected = traceId;
    this.render();
    this.load(traceId);
  }

  async load(traceId) {
    this.title.textContent = `Waterfall: trace ${traceId}`;
    try {
      const trace = await this.fetchTrace(traceId);
      if (traceId !== this.selected) return; // another trace was clicked meanwhile
      const { spans, totalMs } = renderWaterfall(this.waterfall, trace);
      this.loadedSpanCount = spans;
      this.hint.textContent = `${spans} spans, ${fmt.ms(totalMs)}; hover a span for its attributes`;
      showError(this.waterfall, null);
    } catch (e) {
      if (traceId !== this.selected) return;
      this.loadedSpanCount = -1;
      this.waterfall.replaceChildren();
      showError(this.waterfall, e);
    }
  }
}
