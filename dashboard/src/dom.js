// A tiny element builder and a keyed table renderer, shared by the tables of every section.
// Text always goes through textContent (never innerHTML): names come from user config.

// h('td', {class: 'num', dataset: {rps: 1}}, 'text', child, ...)
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'style') Object.assign(el.style, value);
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// `content`: text, a node, or a list of them.
export function badge(content, tone = 'neutral', title) {
  return h('span', { class: `badge badge-${tone}`, title }, content);
}

// A small padlock as inline SVG (an emoji 🔒 needs a font the machine may not have).
export function lockIcon() {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('class', 'lock-icon');
  svg.setAttribute('aria-hidden', 'true');
  const body = document.createElementNS(ns, 'rect');
  for (const [k, v] of Object.entries({ x: 3, y: 7, width: 10, height: 7, rx: 1.5 })) body.setAttribute(k, v);
  const shackle = document.createElementNS(ns, 'path');
  shackle.setAttribute('d', 'M5.5 7V5a2.5 2.5 0 0 1 5 0v2');
  shackle.setAttribute('fill', 'none');
  shackle.setAttribute('stroke', 'currentColor');
  shackle.setAttribute('stroke-width', '1.6');
  body.setAttribute('fill', 'currentColor');
  svg.append(shackle, body);
  return svg;
}

// Renders rows into a <table> built once in `container`, keeping the rows' identity (by key) so
// that a selection or hover survives the 5 s refresh.
//   columns: [{title, class?, cell(item) -> Node|string}]
//   options: {key(item), rowAttrs(item) -> attrs for the <tr>, onClick(item), selectedKey, empty}
export function renderTable(container, columns, items, options) {
  let table = container.querySelector('table');
  if (!table) {
    table = h(
      'table',
      { class: 'data-table' },
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { class: c.class, title: c.help }, c.title)))),
      h('tbody'),
    );
    container.replaceChildren(table);
  }
  const tbody = table.tBodies[0];
  const old = new Map([...tbody.rows].map((tr) => [tr.dataset.key, tr]));
  const rows = items.map((item) => {
    const key = options.key(item);
    const tr = old.get(key) || h('tr');
    // Attributes are rewritten each time: drop the old ones (but keep the key).
    for (const name of tr.getAttributeNames()) tr.removeAttribute(name);
    const attrs = options.rowAttrs ? options.rowAttrs(item) : {};
    for (const [name, value] of Object.entries(attrs)) {
      if (name === 'dataset') Object.assign(tr.dataset, value);
      else if (value !== undefined && value !== null) tr.setAttribute(name, value);
    }
    tr.dataset.key = key;
    if (options.onClick) {
      tr.classList.add('clickable');
      tr.tabIndex = 0;
      tr.onclick = () => options.onClick(item);
      tr.onkeydown = (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          options.onClick(item);
        }
      };
    }
    if (options.selectedKey !== undefined && key === options.selectedKey) {
      tr.classList.add('selected');
      tr.setAttribute('aria-selected', 'true');
    }
    tr.replaceChildren(...columns.map((c) => h('td', { class: c.class }, c.cell(item))));
    return tr;
  });
  tbody.replaceChildren(...rows);
  let empty = container.querySelector('.empty');
  if (items.length === 0) {
    if (!empty) container.append((empty = h('p', { class: 'empty' })));
    empty.textContent = options.empty || 'Nothing yet.';
  } else if (empty) {
    empty.remove();
  }
}

// A section-level error line (e.g. "this server has no trace collector"), or none.
export function showError(container, error) {
  let line = container.querySelector('.section-error');
  if (!error) {
    line?.remove();
    return;
  }
  if (!line) container.prepend((line = h('p', { class: 'section-error', role: 'status' })));
  line.textContent = error.message || String(error);
}
