/** Overview: the broker's counts, throughput over the last minutes, and the alerts firing now. */
import type { Alert, Overview } from '../api-types.js';
import { h } from '../dom.js';
import { count, duration, since } from '../format.js';
import { lineChart } from '../line-chart.js';
import type { RatePoint } from '../throughput.js';
import { view } from '../view.js';

interface Data {
  overview: Overview;
  alerts: Alert[] | { error: string };
  points: RatePoint[];
}

const card = (label: string, value: string, testId: string, href?: string): HTMLElement =>
  h(
    href ? 'a' : 'div',
    { class: 'card', ...(href ? { href } : {}) },
    h('span', { class: 'card-value', 'data-testid': testId }, value),
    h('span', { class: 'card-label' }, label),
  );

export const overviewView = view<Data>({
  id: 'overview',
  title: 'Overview',
  async load({ api, throughput }) {
    const [overview, alerts] = await Promise.all([
      api.get<Overview>('/api/overview'),
      api.get<Alert[]>('/api/alerts').catch((error: unknown) => ({ error: String(error) })),
    ]);
    return { overview, alerts, points: [...throughput.points] };
  },
  render({ overview, alerts, points }) {
    const firing = Array.isArray(alerts) ? alerts.filter((a) => a.state === 'firing') : [];
    return h(
      'div',
      {},
      h('p', { class: 'muted' }, `Courier broker ${overview.version}, up ${duration(overview.uptimeMs)}`),
      h(
        'div',
        { class: 'cards' },
        card('connections', count(overview.connections), 'count-connections', '#/services'),
        card('services', count(overview.services), 'count-services', '#/services'),
        card('streams', count(overview.streams), 'count-streams', '#/streams'),
        card('groups', count(overview.groups), 'count-groups', '#/groups'),
        card('dead letters', count(overview.deadLetters), 'count-dead-letters', '#/dead-letters'),
        card('alerts firing', count(overview.alerts.firing), 'count-alerts', '#/alerts'),
      ),
      h('h2', {}, 'Throughput (messages per second)'),
      lineChart({
        testId: 'throughput-chart',
        times: points.map((p) => p.time),
        unit: '/s',
        series: [
          { name: 'published', color: '#2f6fdf', values: points.map((p) => p.published) },
          { name: 'delivered', color: '#1a9e5a', values: points.map((p) => p.delivered) },
        ],
      }),
      h('h2', {}, 'Firing alerts'),
      !Array.isArray(alerts)
        ? h('p', { class: 'error' }, `alerts unavailable: ${alerts.error}`)
        : firing.length === 0
          ? h('p', { class: 'muted', 'data-testid': 'no-firing-alerts' }, 'No alert is firing.')
          : h(
              'ul',
              { class: 'alerts', 'data-testid': 'firing-alerts' },
              firing.map((a) =>
                h(
                  'li',
                  { class: 'firing' },
                  h('strong', {}, a.rule),
                  ` ${a.message} `,
                  h('span', { class: 'muted' }, `since ${since(a.since)}`),
                ),
              ),
            ),
    );
  },
});
