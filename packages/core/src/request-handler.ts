/**
 * Request handlers: decode and check the request, run the handler inside the
 * middleware, check and encode its response, and turn whatever it throws
 * into a wire error (`CourierError`s keep their code; anything else becomes
 * `HANDLER_ERROR` with its message).
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { Codecs } from './codec.js';
import { validate } from './contract.js';
import { optionalMillis } from './duration.js';
import { CourierError, toCourierError } from './errors.js';
import { type MessageInfo, messageInfo, type RawMessage } from './message.js';
import { type Middleware, runMiddleware } from './middleware/compose.js';
import { type Observed, type Observer, UNOBSERVED } from './observability/observer.js';
import { type CloseOptions, isThenable, type Subscription, settleAll } from './subscription.js';
import type { Reply, Responder, Transport } from './transport.js';

/** A request handler. What it returns is the reply. */
export type RequestHandler<Req, Res> = (data: Req, ctx: MessageInfo) => Res | Promise<Res>;

/** Everything a request handler needs, resolved by the Bus. */
export interface RequestHandlerSpec {
  readonly transport: Transport;
  readonly codecs: Codecs;
  readonly middleware: readonly Middleware[];
  readonly subject: string;
  readonly request: StandardSchemaV1 | undefined;
  readonly response: StandardSchemaV1 | undefined;
  readonly handler: RequestHandler<unknown, unknown>;
  readonly encode: (data: unknown) => { payload: Uint8Array; contentType: string };
  /** Spans, metrics and log lines around each answer. */
  readonly observer: Observer;
  readonly onClosed: () => void;
  readonly onError: (error: unknown) => void;
}

function failedReply(error: unknown): Reply {
  const failure = error instanceof CourierError ? error : toCourierError(error, 'HANDLER_ERROR');
  return { ok: false, error: failure.toWire() };
}

/** A request handler registered with the engine. */
export class BusRequestHandler implements Subscription {
  readonly ready: Promise<void>;
  readonly #spec: RequestHandlerSpec;
  readonly #inFlight = new Set<Promise<Reply>>();
  #responder: Responder | undefined;
  #closing: Promise<void> | undefined;

  constructor(spec: RequestHandlerSpec) {
    this.#spec = spec;
    this.ready = spec.transport
      .serve(spec.subject, (request) => {
        const reply = this.#answer(request);
        this.#inFlight.add(reply);
        void reply.finally(() => this.#inFlight.delete(reply));
        return reply;
      })
      .then((responder) => {
        this.#responder = responder;
      });
    this.ready.catch((error: unknown) => {
      spec.onError(error);
      spec.onClosed();
    });
  }

  close(options: CloseOptions = {}): Promise<void> {
    const timeout = optionalMillis(options.timeout, 'timeout', 30_000);
    this.#closing ??= (async () => {
      try {
        await this.ready;
      } catch {
        return;
      }
      await this.#responder?.close();
      await settleAll(this.#inFlight, timeout);
      this.#spec.onClosed();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #answer(request: RawMessage): Promise<Reply> {
    const spec = this.#spec;
    const observed = spec.observer.serve(request, spec.subject);
    if (
      observed !== UNOBSERVED ||
      spec.middleware.length > 0 ||
      spec.request !== undefined ||
      spec.response !== undefined
    )
      return this.#answerInFull(request, observed);
    // Nothing around the handler and nothing to check: call it directly, and wait only for a promise it returns.
    try {
      const data = spec.codecs.forContentType(request.contentType).decode(request.payload);
      const result = spec.handler(data, messageInfo(request));
      if (isThenable(result))
        return Promise.resolve(result).then(
          (value) => this.#replyOf(value),
          (error: unknown) => failedReply(error),
        );
      return Promise.resolve(this.#replyOf(result));
    } catch (error) {
      return Promise.resolve(failedReply(error));
    }
  }

  #replyOf(result: unknown): Reply {
    try {
      return { ok: true, headers: {}, ...this.#spec.encode(result) };
    } catch (error) {
      return failedReply(error);
    }
  }

  async #answerInFull(request: RawMessage, observed: Observed<'ok' | 'error'>): Promise<Reply> {
    const spec = this.#spec;
    try {
      const decoded = spec.codecs.forContentType(request.contentType).decode(request.payload);
      const data = await validate(spec.request, decoded, `request to ${request.subject}`);
      const call = { kind: 'handle' as const, subject: request.subject, data, headers: request.headers };
      const result = await observed.run(() =>
        runMiddleware(spec.middleware, call, async () => spec.handler(data, messageInfo(request))),
      );
      await validate(spec.response, result, `response from ${request.subject}`);
      const reply: Reply = { ok: true, headers: {}, ...spec.encode(result) };
      observed.settle('ok');
      return reply;
    } catch (error) {
      const failure = error instanceof CourierError ? error : toCourierError(error, 'HANDLER_ERROR');
      observed.settle('error', failure);
      return { ok: false, error: failure.toWire() };
    }
  }
}
