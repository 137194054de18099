/**
 * Topology: services -> subjects -> groups as an SVG graph, laid out by hand
 * in three columns. Subjects are ordered by the mean position of the
 * services linked to them and groups by their subject's position (one
 * barycentre pass), which keeps most edges from crossing.
 */
import type { EdgeKind, Topology } from '../api-types.js';
import { h, s } from '../dom.js';
import { clip } from '../format.js';
import { view } from '../view.js';

type Column = 'service' | 'subject' | 'group';

interface Node {
  column: Column;
  name: string;
  label: string;
  x: number;
  y: number;
}

const COLORS: Record<EdgeKind | 'feeds', string> = {
  publishes: '#2f6fdf',
  requests: '#8a4fd0',
  handles: '#d9822b',
  subscribes: '#1a9e5a',
  feeds: '#7d8799',
};

const NODE_W = 230;
const NODE_H = 28;
const ROW = 40;
const TOP = 36;
const COLUMN_X: Record<Column, number> = { service: 10, subject: 365, group: 720 };
const WIDTH = COLUMN_X.group + NODE_W + 10;

const id = (column: Column, name: string): string => `${column}\u0000${name}`;

function mean(values: readonly number[], fallback: number): number {
  return values.length === 0 ? fallback : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Places the nodes; returns them by id, and the edges between ids. */
function layout(topology: Topology): {
  nodes: Map<string, Node>;
  edges: { from: string; to: string; kind: EdgeKind | 'feeds' }[];
} {
  const services = [...topology.services]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((svc) => ({ name: svc.name, label: `${svc.name} ×${svc.instances}` }));
  const serviceIndex = new Map(services.map((svc, i) => [svc.name, i]));
  const subjects = new Set(topology.subjects);
  for (const g of topology.groups) subjects.add(g.subject);
  const edges: { from: string; to: string; kind: EdgeKind | 'feeds' }[] = [];
  for (const edge of topology.edges) {
    // Edges go from a service to a subject (or a group, for a group subscription).
    const toGroup = topology.groups.some((g) => g.group === edge.to) && !subjects.has(edge.to);
    if (!toGroup) subjects.add(edge.to);
    edges.push({
      from: id('service', edge.from),
      to: id(toGroup ? 'group' : 'subject', edge.to),
      kind: edge.kind,
    });
  }
  const linked = (subject: string): number[] =>
    topology.edges.filter((e) => e.to === subject).map((e) => serviceIndex.get(e.from) ?? services.length);
  const orderedSubjects = [...subjects]
    .map((name, i) => ({ name, key: mean(linked(name), services.length + i) }))
    .sort((a, b) => a.key - b.key || a.name.localeCompare(b.name))
    .map((e) => e.name);
  const subjectIndex = new Map(orderedSubjects.map((name, i) => [name, i]));
  const groups = [...topology.groups].sort(
    (a, b) =>
      (subjectIndex.get(a.subject) ?? 0) - (subjectIndex.get(b.subject) ?? 0) ||
      a.group.localeCompare(b.group),
  );
  for (const g of groups)
    edges.push({ from: id('subject', g.subject), to: id('group', g.group), kind: 'feeds' });

  const nodes = new Map<string, Node>();
  const place = (column: Column, items: readonly { name: string; label: string }[]): void => {
    for (const [i, item] of items.entries()) {
      nodes.set(id(column, item.name), { column, ...item, x: COLUMN_X[column], y: TOP + i * ROW });
    }
  };
  place('service', services);
  place(
    'subject',
    orderedSubjects.map((name) => ({ name, label: name })),
  );
  place(
    'group',
    [...new Set(groups.map((g) => g.group))].map((name) => ({ name, label: name })),
  );
  // Services that only appear in edges still get a node.
  for (const edge of edges) {
    if (!nodes.has(edge.from) && edge.from.startsWith('service')) {
      const name = edge.from.slice('service'.length + 1);
      const row = [...nodes.values()].filter((n) => n.column === 'service').length;
      nodes.set(edge.from, { column: 'service', name, label: name, x: COLUMN_X.service, y: TOP + row * ROW });
    }
  }
  return { nodes, edges };
}

export const topologyView = view<Topology>({
  id: 'topology',
  title: 'Topology',
  load: ({ api }) => api.get<Topology>('/api/topology'),
  render(topology) {
    const { nodes, edges } = layout(topology);
    if (nodes.size === 0)
      return h('p', { class: 'muted', 'data-testid': 'topology-empty' }, 'Nothing to draw yet.');
    const rows = Math.max(1, ...[...nodes.values()].map((n) => (n.y - TOP) / ROW + 1));
    const height = TOP + rows * ROW;
    // Edges of several kinds between the same two nodes are drawn side by side.
    const parallel = new Map<string, number>();
    const slot = new Map<(typeof edges)[number], number>();
    for (const edge of edges) {
      const pair = `${edge.from}\u0001${edge.to}`;
      slot.set(edge, parallel.get(pair) ?? 0);
      parallel.set(pair, (parallel.get(pair) ?? 0) + 1);
    }
    const paths = edges.flatMap((edge) => {
      const from = nodes.get(edge.from);
      const to = nodes.get(edge.to);
      if (!from || !to) return [];
      const count = parallel.get(`${edge.from}\u0001${edge.to}`) ?? 1;
      const shift = ((slot.get(edge) ?? 0) - (count - 1) / 2) * 6;
      const x1 = from.x + NODE_W;
      const y1 = from.y + NODE_H / 2 + shift;
      const x2 = to.x;
      const y2 = to.y + NODE_H / 2 + shift;
      const bend = (x2 - x1) / 2;
      return [
        s(
          'path',
          {
            d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`,
            fill: 'none',
            stroke: COLORS[edge.kind],
            'stroke-width': 1.8,
            'stroke-dasharray': edge.kind === 'requests' || edge.kind === 'handles' ? '6 3' : undefined,
            'marker-end': 'url(#arrow)',
            'data-kind': edge.kind,
          },
          s('title', {}, `${from.name} ${edge.kind === 'feeds' ? 'feeds' : edge.kind} ${to.name}`),
        ),
      ];
    });
    const boxes = [...nodes.values()].map((node) =>
      s(
        'g',
        { class: `node ${node.column}`, 'data-testid': `topo-${node.column}-${node.name}` },
        s('rect', { x: node.x, y: node.y, width: NODE_W, height: NODE_H, rx: 6 }),
        s('text', { x: node.x + 10, y: node.y + 18 }, clip(node.label, 30)),
        s('title', {}, `${node.column} ${node.name}`),
      ),
    );
    const headings = (Object.entries(COLUMN_X) as [Column, number][]).map(([column, x]) =>
      s('text', { x: x + 2, y: 18, class: 'heading' }, `${column}s`),
    );
    return h(
      'div',
      {},
      h(
        'p',
        { class: 'legend' },
        (Object.entries(COLORS) as [string, string][]).map(([kind, color]) =>
          h('span', {}, h('i', { style: `background:${color}` }), kind),
        ),
      ),
      s(
        'svg',
        {
          class: 'topology',
          'data-testid': 'topology-graph',
          viewBox: `0 0 ${WIDTH} ${height}`,
          width: '100%',
          style: `max-width:${WIDTH}px`,
          role: 'img',
          'aria-label': 'services, subjects and groups',
        },
        s(
          'defs',
          {},
          s(
            'marker',
            {
              id: 'arrow',
              viewBox: '0 0 10 10',
              refX: 9,
              refY: 5,
              markerWidth: 7,
              markerHeight: 7,
              orient: 'auto',
            },
            s('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#7d8799' }),
          ),
        ),
        headings,
        paths,
        boxes,
      ),
    );
  },
});
