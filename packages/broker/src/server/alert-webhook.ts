/**
 * Sends alert changes to a webhook as Alertmanager-style JSON, one POST per
 * status per evaluation: `{ version, status: 'firing'|'resolved', receiver,
 * alerts: [{ status, labels, annotations, startsAt, endsAt }] }`. Posts go
 * out one at a time, in order, so a receiver never sees a resolve before its
 * firing. A failed post is reported and not retried: the next change sends
 * the current state again.
 */

/** One alert as the webhook receives it. */
export interface WebhookAlert {
  status: 'firing' | 'resolved';
  /** `alertname` (the rule's name), `kind`, and the rule's own labels (group, service, ...). */
  labels: Record<string, string>;
  /** `summary` (what is wrong, in words) and `value`. */
  annotations: Record<string, string>;
  /** ISO 8601. */
  startsAt: string;
  /** ISO 8601; `0001-01-01T00:00:00Z` while firing, as Alertmanager does. */
  endsAt: string;
}

/** The body of one POST. */
export interface WebhookPayload {
  version: '4';
  status: 'firing' | 'resolved';
  receiver: 'courier';
  alerts: WebhookAlert[];
}

/** Options of {@link alertWebhook}. */
export interface AlertWebhookOptions {
  url: string;
  /** Abort a post after this long. Default 5000. */
  timeoutMs?: number;
  /** Told of a post that failed. */
  onError: (error: unknown) => void;
}

/** A webhook sender; `send` queues a post; `idle` resolves once every queued post is done. */
export interface AlertWebhook {
  send(payload: WebhookPayload): void;
  idle(): Promise<void>;
}

/** See the module comment. */
export function alertWebhook(options: AlertWebhookOptions): AlertWebhook {
  let queue = Promise.resolve();
  const post = async (payload: WebhookPayload): Promise<void> => {
    const response = await fetch(options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
    });
    await response.arrayBuffer();
    if (!response.ok)
      throw new Error(`alert webhook ${options.url} answered ${response.status} to a ${payload.status} post`);
  };
  return {
    send(payload) {
      queue = queue.then(() =>
        post(payload).catch((error: unknown) =>
          options.onError(
            new Error(`cannot post ${payload.status} alerts to ${options.url}: ${(error as Error).message}`, {
              cause: error,
            }),
          ),
        ),
      );
    },
    idle: () => queue,
  };
}
