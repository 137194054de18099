/** Groups: each durable or private group's lag, work in flight, rates, redeliveries and dead letters. */
import type { GroupInfo } from '../api-types.js';
import { h } from '../dom.js';
import { count, rate } from '../format.js';
import type { GroupRates } from '../throughput.js';
import { view } from '../view.js';

type Row = GroupInfo & { rates: GroupRates | undefined };

const COLUMNS = [
  'group',
  'subject',
  'members',
  'pending (lag)',
  'outstanding',
  'delivered/s',
  'acked/s',
  'delivered',
  'redelivered',
  'dead letters',
];

export const groupsView = view<Row[]>({
  id: 'groups',
  title: 'Groups',
  load: async ({ snapshot, throughput }) =>
    snapshot.groups.map((g) => ({ ...g, rates: throughput.groupRates(g) })),
  render(rows) {
    if (rows.length === 0) return h('p', { class: 'muted', 'data-testid': 'groups-empty' }, 'No group yet.');
    return h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          COLUMNS.map((c) => h('th', {}, c)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((g) =>
          h(
            'tr',
            { 'data-testid': `group-${g.group}` },
            h('td', {}, g.group, !g.durable && h('span', { class: 'badge' }, 'private')),
            h('td', { class: 'mono' }, g.subject),
            h('td', { class: 'num' }, count(g.members)),
            h(
              'td',
              { class: g.pending > 0 ? 'num warn' : 'num', 'data-testid': 'pending' },
              count(g.pending),
            ),
            h('td', { class: 'num' }, count(g.outstanding)),
            h('td', { class: 'num' }, rate(g.rates?.delivered)),
            h('td', { class: 'num' }, rate(g.rates?.acked)),
            h('td', { class: 'num' }, count(g.delivered)),
            h('td', { class: 'num' }, count(g.redelivered)),
            h(
              'td',
              { class: g.deadLetters > 0 ? 'num bad' : 'num' },
              g.deadLetters > 0
                ? h(
                    'a',
                    { href: `#/dead-letters?group=${encodeURIComponent(g.group)}` },
                    count(g.deadLetters),
                  )
                : '0',
            ),
          ),
        ),
      ),
    );
  },
});
