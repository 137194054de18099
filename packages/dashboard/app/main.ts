/**
 * The dashboard's shell: a nav bar, one view at a time (hash routes such as
 * `#/streams?stream=events`), and the refresh loop: every 2 s it samples
 * streams and groups (for the rates), loads the current view and renders it
 * when its data changed. The loop pauses while the tab is hidden and while
 * the token prompt is open.
 */
import { ApiClient, ApiError } from './api.js';
import type { GroupInfo, StreamInfo } from './api-types.js';
import { h, replace } from './dom.js';
import { Throughput } from './throughput.js';
import { tokenPrompt } from './token-prompt.js';
import type { View, ViewContext } from './view.js';
import { alertsView } from './views/alerts.js';
import { deadLettersView } from './views/dead-letters.js';
import { groupsView } from './views/groups.js';
import { overviewView } from './views/overview.js';
import { servicesView } from './views/services.js';
import { streamsView } from './views/streams.js';
import { topologyView } from './views/topology.js';
import './styles.css';

const REFRESH_MS = 2000;
const VIEWS: readonly View[] = [
  overviewView,
  servicesView,
  streamsView,
  groupsView,
  topologyView,
  deadLettersView,
  alertsView,
];

const prompt = tokenPrompt({
  onToken: (token) => {
    api.token = token;
    void tick();
  },
});
const api = new ApiClient({ onUnauthorized: (message) => prompt.open(message) });
const throughput = new Throughput();

const status = h('span', { class: 'status', 'data-testid': 'status' }, 'connecting…');
const signOut = h(
  'button',
  {
    class: 'link',
    'data-testid': 'forget-token',
    onclick: () => {
      api.token = undefined;
      void tick();
    },
  },
  'forget token',
);
const links = VIEWS.map((v) => h('a', { href: `#/${v.id}`, 'data-testid': `nav-${v.id}` }, v.title));
const main = h('main', {});
document.body.append(
  h('header', {}, h('strong', { class: 'brand' }, 'Courier'), h('nav', {}, links), status, signOut),
  main,
  prompt.element,
);

function route(): { view: View; params: URLSearchParams } {
  const [path = '', query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const found = VIEWS.find((v) => v.id === path) ?? overviewView;
  return { view: found, params: new URLSearchParams(query) };
}

let timer: ReturnType<typeof setTimeout> | undefined;
let running = false;
let again = false;
let rendered = '';

function schedule(): void {
  clearTimeout(timer);
  timer = document.hidden ? undefined : setTimeout(() => void tick(), REFRESH_MS);
}

async function tick(): Promise<void> {
  if (running) {
    again = true;
    return;
  }
  running = true;
  clearTimeout(timer);
  const hash = location.hash;
  const { view, params } = route();
  main.setAttribute('data-testid', `view-${view.id}`);
  for (const link of links) link.classList.toggle('active', link.getAttribute('href') === `#/${view.id}`);
  signOut.hidden = api.token === undefined;
  try {
    if (prompt.isOpen) return;
    const [streams, groups] = await Promise.all([
      api.get<StreamInfo[]>('/api/streams'),
      api.get<GroupInfo[]>('/api/groups'),
    ]);
    throughput.add(streams, groups);
    const context: ViewContext = {
      api,
      throughput,
      snapshot: { streams, groups },
      params,
      navigate: (to) => {
        location.hash = to;
      },
      refresh: () => void tick(),
    };
    const data = await view.load(context);
    // A route change while loading makes this data stale; the next tick renders the new route.
    if (location.hash !== hash) return;
    const key = `${hash}\n${JSON.stringify(data)}`;
    if (key !== rendered) {
      replace(main, h('h1', {}, view.title), view.render(data, context));
      rendered = key;
    }
    status.textContent = `live · updated ${new Date().toLocaleTimeString()}`;
    status.className = 'status ok';
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    status.textContent =
      error instanceof ApiError && error.status === 401 ? 'waiting for a token' : `error: ${message}`;
    status.className = 'status error';
    if (!rendered.startsWith(`${hash}\n`)) {
      // Nothing of this route shown yet: say why in its place.
      replace(
        main,
        h('h1', {}, view.title),
        h('p', { class: 'error', 'data-testid': 'view-error' }, message),
      );
      rendered = `${hash}\n(error)`;
    }
  } finally {
    running = false;
    if (again) {
      again = false;
      void tick();
    } else {
      schedule();
    }
  }
}

window.addEventListener('hashchange', () => void tick());
document.addEventListener('visibilitychange', () => {
  if (document.hidden) {
    clearTimeout(timer);
    status.textContent = 'paused while the tab is hidden';
  } else {
    void tick();
  }
});
void tick();
