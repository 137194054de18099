/** Services: each service and its live instances, with what each handles, subscribes to and calls. */
import type { ServiceInstance } from '../api-types.js';
import { h } from '../dom.js';
import { since } from '../format.js';
import { view } from '../view.js';

const list = (items: readonly (string | Node)[]): HTMLElement =>
  items.length === 0
    ? h('span', { class: 'muted' }, 'none')
    : h(
        'ul',
        { class: 'tags' },
        items.map((item) => h('li', {}, item)),
      );

/** The registry lists a group subscription as `group subject`, a private one as `subject`. */
function subscription(entry: string): string | Node {
  const space = entry.indexOf(' ');
  if (space < 0) return entry;
  return h(
    'span',
    {},
    entry.slice(space + 1),
    h('span', { class: 'muted' }, ` · group ${entry.slice(0, space)}`),
  );
}

export const servicesView = view<ServiceInstance[]>({
  id: 'services',
  title: 'Services',
  load: ({ api }) => api.get<ServiceInstance[]>('/api/services'),
  render(instances) {
    if (instances.length === 0)
      return h('p', { class: 'muted', 'data-testid': 'services-empty' }, 'No service is connected.');
    const byService = new Map<string, ServiceInstance[]>();
    for (const instance of instances) {
      const group = byService.get(instance.service) ?? [];
      group.push(instance);
      byService.set(instance.service, group);
    }
    return h(
      'div',
      {},
      [...byService.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([service, members]) =>
          h(
            'section',
            { class: 'service', 'data-testid': `service-${service}` },
            h('h2', {}, service, h('span', { class: 'badge' }, `${members.length} instance(s)`)),
            h(
              'table',
              {},
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  [
                    'instance',
                    'version',
                    'client',
                    'address',
                    'since',
                    'handlers',
                    'subscriptions',
                    'requests',
                  ].map((c) => h('th', {}, c)),
                ),
              ),
              h(
                'tbody',
                {},
                members.map((m) =>
                  h(
                    'tr',
                    { 'data-testid': `instance-${m.instance}` },
                    h('td', { class: 'mono' }, m.instance),
                    h('td', {}, m.version ?? '–'),
                    h('td', {}, m.client),
                    h('td', { class: 'mono' }, m.address),
                    h('td', {}, since(m.since)),
                    h('td', {}, list(m.handlers)),
                    h('td', {}, list(m.subscriptions.map(subscription))),
                    h('td', {}, list(m.requests)),
                  ),
                ),
              ),
            ),
          ),
        ),
    );
  },
});
