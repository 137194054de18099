/** Alerts: every rule the broker evaluates, its state, since when, and why. */
import type { Alert } from '../api-types.js';
import { h } from '../dom.js';
import { since } from '../format.js';
import { view } from '../view.js';

export const alertsView = view<Alert[]>({
  id: 'alerts',
  title: 'Alerts',
  load: ({ api }) => api.get<Alert[]>('/api/alerts'),
  render(alerts) {
    if (alerts.length === 0)
      return h(
        'p',
        { class: 'muted', 'data-testid': 'alerts-empty' },
        'No alert rule is configured (see the broker config).',
      );
    const sorted = [...alerts].sort(
      (a, b) => Number(b.state === 'firing') - Number(a.state === 'firing') || a.rule.localeCompare(b.rule),
    );
    return h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['state', 'rule', 'kind', 'since', 'value', 'message', 'labels'].map((c) => h('th', {}, c)),
        ),
      ),
      h(
        'tbody',
        {},
        sorted.map((a) =>
          h(
            'tr',
            { 'data-testid': `alert-${a.rule}`, 'data-state': a.state },
            h('td', {}, h('span', { class: `state ${a.state}` }, a.state)),
            h('td', {}, a.rule),
            h('td', {}, a.kind),
            h('td', {}, since(a.since)),
            h('td', { class: 'num' }, String(a.value)),
            h('td', {}, a.message),
            h(
              'td',
              {},
              h(
                'ul',
                { class: 'tags' },
                Object.entries(a.labels).map(([k, v]) => h('li', {}, `${k}=${v}`)),
              ),
            ),
          ),
        ),
      ),
    );
  },
});
