// The dependency graph of the current window as inline SVG: columns by dependency depth
// (longest path from a task without prerequisites); within a column, tasks sit near the tasks they
// depend on (mean row of their prerequisites), then in cycle and name order.
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

const FINAL = new Set(['succeeded', 'failed', 'submit-failed', 'expired']);

/**
 * The tasks inside the engine's graph window: every unfinished task, and both ends of each edge
 * the engine sent (it sends only edges within the window extent of an unfinished task). When
 * everything has finished, the whole graph.
 */
export function windowTasks(tasks, edges) {
  const all = [...tasks.values()];
  if (all.every((t) => FINAL.has(t.state))) return all;
  const ends = new Set(edges.flatMap((e) => [e.from, e.to]));
  return all.filter((t) => !FINAL.has(t.state) || ends.has(t.id));
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

/** Draws the window's tasks (from a Map id → task) and edges; onSelect(id) when a node is clicked. */
export function drawGraph(container, tasks, edges, onSelect) {
  const list = windowTasks(tasks, edges).sort((a, b) => a.cycle - b.cycle || a.name.localeCompare(b.name));
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
  const root = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'Task dependency graph' });
  const defs = svg('defs');
  const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  marker.append(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#a9b3c2' }));
  defs.append(marker);
  root.append(defs);
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
    g.addEventListener('click', () => onSelect(task.id));
    root.append(g);
  }
  container.replaceChildren(root);
}
