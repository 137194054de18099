/**
 * Streams: each stream's subjects, size and publish rate; pick one to browse
 * its messages by sequence, a page at a time, with headers and data.
 */
import type { MessagePage, StoredMessage, StreamInfo } from '../api-types.js';
import { h } from '../dom.js';
import { bytes, count, payload, rate, since } from '../format.js';
import { type ViewContext, view } from '../view.js';

const PAGE = 50;

interface Browse {
  stream: StreamInfo;
  from: number | undefined;
  page: MessagePage;
}

interface Data {
  streams: { info: StreamInfo; rate: number | undefined }[];
  browse: Browse | { error: string } | undefined;
}

function routeOf(stream: string, from?: number): string {
  const params = new URLSearchParams({ stream });
  if (from !== undefined) params.set('from', String(from));
  return `#/streams?${params}`;
}

function messageRow(message: StoredMessage): HTMLElement {
  const headers = Object.entries(message.headers);
  return h(
    'tr',
    { 'data-testid': `message-${message.seq}` },
    h('td', { class: 'num' }, message.seq),
    h('td', {}, since(message.time)),
    h(
      'td',
      { class: 'mono' },
      message.subject,
      message.key && h('div', { class: 'muted' }, `key ${message.key}`),
    ),
    h('td', { class: 'mono small' }, message.id),
    h(
      'td',
      {},
      headers.length === 0
        ? h('span', { class: 'muted' }, 'none')
        : h(
            'dl',
            { class: 'headers' },
            headers.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
          ),
    ),
    h(
      'td',
      {},
      h('div', { class: 'muted small' }, `${message.contentType}, ${bytes(message.size)}`),
      h('pre', { class: 'data' }, payload(message.data)),
    ),
  );
}

function browser(browse: Browse, context: ViewContext): HTMLElement {
  const { stream, page } = browse;
  const first = page.messages[0]?.seq;
  const jump = h('input', {
    type: 'number',
    min: stream.firstSeq,
    max: stream.lastSeq,
    placeholder: 'sequence',
    'data-testid': 'browse-from',
  });
  return h(
    'section',
    { class: 'browse', 'data-testid': `browse-${stream.name}` },
    h('h2', {}, `Messages of ${stream.name}`),
    h(
      'form',
      {
        class: 'toolbar',
        onsubmit: (event: Event) => {
          event.preventDefault();
          const from = Number(jump.value);
          if (Number.isInteger(from) && from > 0) context.navigate(routeOf(stream.name, from));
        },
      },
      h('button', { type: 'button', onclick: () => context.navigate(routeOf(stream.name)) }, 'First'),
      h(
        'button',
        {
          type: 'button',
          disabled: first === undefined || first <= stream.firstSeq,
          onclick: () =>
            first !== undefined &&
            context.navigate(routeOf(stream.name, Math.max(stream.firstSeq, first - PAGE))),
        },
        'Previous',
      ),
      h(
        'button',
        {
          type: 'button',
          'data-testid': 'browse-next',
          disabled: page.next === null,
          onclick: () => page.next !== null && context.navigate(routeOf(stream.name, page.next)),
        },
        'Next page',
      ),
      h('label', {}, 'From ', jump),
      h('button', { type: 'submit' }, 'Go'),
      h(
        'span',
        { class: 'muted' },
        page.messages.length === 0
          ? 'no messages here'
          : `seq ${first} to ${page.messages[page.messages.length - 1]?.seq} of ${stream.firstSeq}–${stream.lastSeq}`,
      ),
    ),
    h(
      'table',
      { class: 'messages' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['seq', 'time', 'subject', 'id', 'headers', 'data'].map((c) => h('th', {}, c)),
        ),
      ),
      h('tbody', {}, page.messages.map(messageRow)),
    ),
  );
}

export const streamsView = view<Data>({
  id: 'streams',
  title: 'Streams',
  async load({ api, snapshot, throughput, params }) {
    const streams = snapshot.streams.map((info) => ({ info, rate: throughput.streamRate(info.name) }));
    const name = params.get('stream');
    const stream = snapshot.streams.find((s) => s.name === name);
    if (name === null) return { streams, browse: undefined };
    if (stream === undefined) return { streams, browse: { error: `no stream named ${name}` } };
    const fromParam = params.get('from');
    const from = fromParam === null ? undefined : Number(fromParam);
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (from !== undefined) query.set('from', String(from));
    const page = await api
      .get<MessagePage>(`/api/streams/${encodeURIComponent(stream.name)}/messages?${query}`)
      .catch((error: unknown) => ({ error: String(error) }));
    return { streams, browse: 'error' in page ? page : { stream, from, page } };
  },
  render({ streams, browse }, context) {
    const selected = context.params.get('stream');
    return h(
      'div',
      {},
      streams.length === 0
        ? h('p', { class: 'muted' }, 'No stream yet.')
        : h(
            'table',
            {},
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['stream', 'subjects', 'messages', 'bytes', 'sequences', 'published', 'published/s'].map(
                  (c) => h('th', {}, c),
                ),
              ),
            ),
            h(
              'tbody',
              {},
              streams.map(({ info, rate: perSecond }) =>
                h(
                  'tr',
                  {
                    'data-testid': `stream-${info.name}`,
                    class: info.name === selected ? 'selected' : undefined,
                  },
                  h(
                    'td',
                    {},
                    h(
                      'a',
                      { href: routeOf(info.name), 'data-testid': `browse-link-${info.name}` },
                      info.name,
                    ),
                  ),
                  h(
                    'td',
                    {},
                    h(
                      'ul',
                      { class: 'tags' },
                      info.subjects.map((subject) => h('li', {}, subject)),
                    ),
                  ),
                  h('td', { class: 'num' }, count(info.messages)),
                  h('td', { class: 'num' }, bytes(info.bytes)),
                  h('td', { class: 'num' }, `${info.firstSeq}–${info.lastSeq}`),
                  h('td', { class: 'num' }, count(info.published)),
                  h('td', { class: 'num' }, rate(perSecond)),
                ),
              ),
            ),
          ),
      browse === undefined
        ? h('p', { class: 'muted' }, 'Pick a stream to browse its messages.')
        : 'error' in browse
          ? h('p', { class: 'error' }, browse.error)
          : browser(browse, context),
    );
  },
});
