// The golden-signal charts of one service: requests/s, error share and p99 latency over time,
// from /api/v1/traffic/series (one point per 10 s bucket). Three uPlot charts made once and fed
// new data on each refresh; they follow their container's width (also when shown after being
// hidden in another tab).
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import * as fmt from './format.js';
import { h } from './dom.js';

const HEIGHT = 220;

const SIGNALS = [
  {
    key: 'rps',
    title: 'Requests/s',
    color: '#1a73e8',
    value: (p) => p.rps,
    format: (v) => (v === null ? '–' : `${fmt.rps(v)} rps`),
    axis: (v) => String(+v.toFixed(2)),
    floor: 1, // the y axis shows at least 0..1
  },
  {
    key: 'failureShare',
    title: 'Error share',
    color: '#d93025',
    value: (p) => p.failureShare * 100,
    format: (v) => (v === null ? '–' : fmt.percent(v / 100)),
    axis: (v) => `${+v.toFixed(2)}%`,
    floor: 5,
  },
  {
    key: 'p99Ms',
    title: 'p99 latency',
    color: '#9334e6',
    value: (p) => p.p99Ms, // null without requests: a gap
    format: (v) => (v === null ? '–' : fmt.ms(v)),
    axis: (v) => `${+v.toFixed(1)} ms`,
    floor: 10,
  },
];

function options(signal, width) {
  return {
    width,
    height: HEIGHT,
    title: signal.title,
    scales: {
      x: { time: true },
      y: { range: (u, min, max) => [0, Math.max(signal.floor, (max ?? 0) * 1.15)] },
    },
    series: [
      { value: (u, ts) => (ts === null ? '–' : fmt.clock(new Date(ts * 1000))) },
      {
        label: signal.title,
        stroke: signal.color,
        fill: `${signal.color}1f`,
        width: 2,
        points: { size: 5 },
        spanGaps: false,
        value: (u, v) => signal.format(v),
      },
    ],
    axes: [
      { stroke: '#5f6b7a', grid: { stroke: '#edf0f4', width: 1 }, ticks: { stroke: '#dfe3e8' } },
      {
        stroke: '#5f6b7a',
        size: 64,
        grid: { stroke: '#edf0f4', width: 1 },
        ticks: { stroke: '#dfe3e8' },
        values: (u, splits) => splits.map(signal.axis),
      },
    ],
    cursor: { drag: { x: false, y: false } },
  };
}

export class GoldenCharts {
  constructor(container) {
    this.container = container;
    this.cells = SIGNALS.map((signal) =>
      h('div', { class: 'chart', dataset: { testid: 'chart', signal: signal.key } }));
    container.replaceChildren(...this.cells);
    this.plots = null;
    this.data = SIGNALS.map(() => [[], []]);
    new ResizeObserver(() => this.fit()).observe(container);
  }

  widthOf(cell) {
    return Math.max(200, Math.floor(cell.clientWidth));
  }

  // Made on first show: uPlot measures its container, which is 0 wide in a hidden tab.
  fit() {
    if (this.container.clientWidth === 0) return;
    if (!this.plots) {
      this.plots = SIGNALS.map((signal, i) =>
        new uPlot(options(signal, this.widthOf(this.cells[i])), this.data[i], this.cells[i]));
      return;
    }
    this.plots.forEach((plot, i) => plot.setSize({ width: this.widthOf(this.cells[i]), height: HEIGHT }));
  }

  // series: the API's {service, points} or null (no service selected).
  show(series) {
    const points = series ? series.points : [];
    const xs = points.map((p) => p.start);
    this.data = SIGNALS.map((signal) => [xs, points.map(signal.value)]);
    this.container.dataset.service = series ? series.service : '';
    this.container.dataset.points = String(points.length);
    if (this.plots) this.plots.forEach((plot, i) => plot.setData(this.data[i]));
    else this.fit();
  }
}
