// The dependency graph of the current window as inline SVG: columns by dependency depth
// (longest path from a task without prerequisites); within a column, tasks sit near the tasks they
// depend on (mean row of their prerequisites), then in cycle and name order.
import { el } from './ui.js';

const NS = 'http://www.w3.org/2000/svg';
const NODE_W = 150;
const NODE_H = 34;
const COL_GAP = 56;
const ROW_GAP = 14;
const PAD = 12;

const COLOURS = {
  waiting: ['#f3f4f7', '#8a96a8'],
  preparing: ['#eaf0fa', '#7c9fd6'],
  submitted: ['#e3f6f9', '#17a2b8'],
  running: ['#e6eefd', '#2f6fe4'],
  succeeded: ['#e6f5ec', '#1f8a4c'],
  failed: ['#fdecea', '#c4302b'],
  'submit-failed': ['#f5ebfa', '#8e3fb8'],
  expired: ['#f8eee3', '#a86a2c'],
};

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function depths(ids, edges) {
  const incoming = new Map(ids.map((id) => [id, []]));
  for (const e of edges) if (incoming.has(e.to) && incoming.has(e.from)) incoming.get(e.to).push(e.from);
  const depth = new Map();
  const visiting = new Set();
  const visit = (id) => {
    if (depth.has(id)) return depth.get(id);
    if (visiting.has(id)) return 0; // a cycle cannot happen in a valid flow; never loop on one
    visiting.add(id);
    const d = Math.max(-1, ...incoming.get(id).map(visit)) + 1;
    visiting.delete(id);
    depth.set(id, d);
    return d;
  };
  for (const id of ids) visit(id);
  return depth;
}

/**
 * Tasks (an array) in the order the graph reads: by cycle, then tasks before those that depend
 * on them, then by name.
 */
export function graphOrder(list, edges) {
  const depth = depths(list.map((t) => t.id), edges);
  return [...list].sort((a, b) => a.cycle - b.cycle || depth.get(a.id) - depth.get(b.id) || a.name.localeCompare(b.name));
}

const FINAL = new Set(['succeeded', 'failed', 'submit-failed', 'expired']);

/**
 * The graph's window: every unfinished task and every task within `extent` edges of one (the
 * workflow's graphWindowExtent, which its controllers set), with the edges between them. The
 * server sends every edge between existing tasks; the window moves with each task that finishes,
 * so it is worked out here. When everything has finished, the whole graph.
 */
export function graphWindow(tasks, edges, extent) {
  const all = [...tasks.values()];
  if (all.every((t) => FINAL.has(t.state))) return { tasks: all, edges };
  const neighbours = new Map();
  const link = (a, b) => (neighbours.get(a) ?? neighbours.set(a, []).get(a)).push(b);
  for (const e of edges) {
    link(e.from, e.to);
    link(e.to, e.from);
  }
  const inside = new Set(all.filter((t) => !FINAL.has(t.state)).map((t) => t.id));
  let frontier = [...inside];
  for (let d = 1; d <= extent && frontier.length; d++) {
    const next = [];
    for (const id of frontier) {
      for (const n of neighbours.get(id) ?? []) {
        if (inside.has(n)) continue;
        inside.add(n);
        next.push(n);
      }
    }
    frontier = next;
  }
  return { tasks: all.filter((t) => inside.has(t.id)), edges: edges.filter((e) => inside.has(e.from) && inside.has(e.to)) };
}

function orderColumns(columns, edges) {
  const prerequisites = new Map();
  for (const e of edges) (prerequisites.get(e.to) ?? prerequisites.set(e.to, []).get(e.to)).push(e.from);
  const row = new Map();
  for (const col of columns) {
    if (!col) continue;
    const weight = new Map(col.map((task) => {
      const rows = (prerequisites.get(task.id) ?? []).map((id) => row.get(id)).filter((r) => r !== undefined);
      return [task.id, rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : Infinity];
    }));
    col.sort((a, b) => {
      const wa = weight.get(a.id);
      const wb = weight.get(b.id);
      return wa === wb ? a.cycle - b.cycle || a.name.localeCompare(b.name) : wa === Infinity ? 1 : wb === Infinity ? -1 : wa - wb;
    });
    col.forEach((task, r) => row.set(task.id, r));
  }
}

/** Draws a graph window (graphWindow's); onSelect(id) when a node is clicked. */
export function drawGraph(container, { tasks, edges }, onSelect) {
  const list = [...tasks].sort((a, b) => a.cycle - b.cycle || a.name.localeCompare(b.name));
  if (list.length === 0) {
    container.replaceChildren(Object.assign(document.createElement('p'), { className: 'empty', textContent: 'Nothing to draw yet.' }));
    return;
  }
  const depth = depths(list.map((t) => t.id), edges);
  const columns = [];
  for (const task of list) {
    const d = depth.get(task.id) ?? 0;
    (columns[d] ??= []).push(task);
  }
  orderColumns(columns, edges);
  const pos = new Map();
  columns.forEach((col, c) => col.forEach((task, r) => pos.set(task.id, { x: PAD + c * (NODE_W + COL_GAP), y: PAD + r * (NODE_H + ROW_GAP) })));
  const width = PAD * 2 + columns.length * NODE_W + (columns.length - 1) * COL_GAP;
  const height = PAD * 2 + Math.max(...columns.map((c) => c.length)) * (NODE_H + ROW_GAP) - ROW_GAP;
  const view = viewFor(container);
  const root = svg('g', { class: 'graph-content' });
  for (const e of edges) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + NODE_W;
    const y1 = a.y + NODE_H / 2;
    const x2 = b.x;
    const y2 = b.y + NODE_H / 2;
    const mid = (x1 + x2) / 2;
    root.append(svg('path', { class: 'graph-edge', d: `M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2 - 2} ${y2}`, 'marker-end': 'url(#arrow)' }));
  }
  for (const task of list) {
    const { x, y } = pos.get(task.id);
    const [fill, stroke] = COLOURS[task.state] ?? COLOURS.waiting;
    const g = svg('g', { class: 'graph-node', transform: `translate(${x},${y})`, tabindex: 0 });
    g.append(svg('title', {}, `${task.id}: ${task.state}${task.held ? ', held' : ''}`));
    g.append(svg('rect', { width: NODE_W, height: NODE_H, fill, stroke, rx: 6, 'stroke-dasharray': task.held ? '4 3' : 'none' }));
    g.append(svg('circle', { cx: 14, cy: NODE_H / 2, r: 5, fill: stroke }));
    const label = task.name.length > 15 ? `${task.name.slice(0, 14)}…` : task.name;
    g.append(svg('text', { x: 26, y: 15 }, label));
    g.append(svg('text', { x: 26, y: 28, 'font-size': 10, fill: '#5d6b7e' }, `cycle ${task.cycle} · ${task.state}`));
    g.addEventListener('click', () => { if (!view.dragged) onSelect(task.id); });
    root.append(g);
  }
  view.show(root, width, height);
}

// ---- the viewport: fit to the panel, zoom and pan ------------------------------------------------
const MIN_SCALE = 0.1;
const MAX_SCALE = 4;
const ZOOM_STEP = 1.25;
const MIN_VIEW_H = 160;
const MAX_VIEW_H = 480;
/** Pointer travel (px) after which a press on the graph is a pan, not a click on a node. */
const DRAG_SLOP = 4;

const clampScale = (s) => Math.min(MAX_SCALE, Math.max(MIN_SCALE, s));

/**
 * One per graph container, kept across redraws so that a live update neither resets the user's
 * zoom and pan nor rebuilds the controls. Until the user zooms or pans, the view follows the
 * panel (fit); "Fit" returns to that.
 */
class GraphView {
  constructor(container) {
    this.container = container;
    this.fitted = true;
    this.scale = 1;
    this.x = 0;
    this.y = 0;
    this.width = 0;
    this.height = 0;
    this.dragged = false;
    this.svg = svg('svg', { class: 'graph-svg', role: 'img', 'aria-label': 'Task dependency graph' });
    const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
    marker.append(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#a9b3c2' }));
    this.layer = svg('g', { class: 'graph-layer' });
    this.svg.append(svg('defs'), this.layer);
    this.svg.firstChild.append(marker);
    this.scaleLabel = el('span', { class: 'small muted graph-scale', 'aria-live': 'polite' });
    const button = (text, label, action) => el('button', { type: 'button', class: 'btn small', title: label, 'aria-label': label, onclick: action }, text);
    this.controls = el('div', { class: 'graph-zoom' },
      button('−', 'Zoom out', () => this.zoomAtCentre(1 / ZOOM_STEP)),
      button('+', 'Zoom in', () => this.zoomAtCentre(ZOOM_STEP)),
      button('Fit', 'Fit the graph to the panel', () => this.fit()),
      this.scaleLabel);
    this.listen();
    new ResizeObserver(() => { if (this.fitted) this.fit(); }).observe(container);
  }

  listen() {
    this.svg.addEventListener('wheel', (event) => {
      event.preventDefault();
      const box = this.svg.getBoundingClientRect();
      this.zoomAt(Math.exp(-event.deltaY * 0.0015), event.clientX - box.left, event.clientY - box.top);
    }, { passive: false });
    let start = null;
    this.svg.addEventListener('pointerdown', (event) => {
      if (event.button !== 0) return;
      start = { px: event.clientX, py: event.clientY, x: this.x, y: this.y, id: event.pointerId };
      this.dragged = false;
    });
    this.svg.addEventListener('pointermove', (event) => {
      if (!start || event.pointerId !== start.id) return;
      const dx = event.clientX - start.px;
      const dy = event.clientY - start.py;
      if (!this.dragged && Math.hypot(dx, dy) < DRAG_SLOP) return;
      if (!this.dragged) {
        this.dragged = true;
        this.svg.setPointerCapture(event.pointerId);
        this.svg.classList.add('panning');
      }
      this.fitted = false;
      this.x = start.x + dx;
      this.y = start.y + dy;
      this.apply();
    });
    const end = () => {
      start = null;
      this.svg.classList.remove('panning');
    };
    this.svg.addEventListener('pointerup', end);
    this.svg.addEventListener('pointercancel', end);
  }

  /** Shows freshly drawn content of the given natural size. */
  show(content, width, height) {
    this.width = width;
    this.height = height;
    this.layer.replaceChildren(content);
    if (!this.svg.isConnected) this.container.replaceChildren(this.controls, this.svg);
    const fitWidth = Math.min(1, this.container.clientWidth / width);
    this.svg.style.minHeight = `${Math.round(Math.min(MAX_VIEW_H, Math.max(MIN_VIEW_H, height * fitWidth)))}px`;
    if (this.fitted) this.fit();
    else this.apply();
  }

  fit() {
    const { width: w, height: h } = this.svg.getBoundingClientRect();
    if (!w || !h || !this.width) return;
    this.fitted = true;
    this.scale = Math.min(1, w / this.width, h / this.height);
    this.x = (w - this.width * this.scale) / 2;
    this.y = (h - this.height * this.scale) / 2;
    this.apply();
  }

  zoomAtCentre(factor) {
    const { width, height } = this.svg.getBoundingClientRect();
    this.zoomAt(factor, width / 2, height / 2);
  }

  /** Zooms by factor keeping the graph point under (px, py), in panel pixels, where it is. */
  zoomAt(factor, px, py) {
    const scale = clampScale(this.scale * factor);
    this.x = px - ((px - this.x) * scale) / this.scale;
    this.y = py - ((py - this.y) * scale) / this.scale;
    this.scale = scale;
    this.fitted = false;
    this.apply();
  }

  apply() {
    this.layer.setAttribute('transform', `translate(${this.x} ${this.y}) scale(${this.scale})`);
    this.scaleLabel.textContent = `${Math.round(this.scale * 100)}%`;
  }
}

const views = new WeakMap();

function viewFor(container) {
  if (!views.has(container)) views.set(container, new GraphView(container));
  return views.get(container);
}
