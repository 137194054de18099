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
import { type CloseOptions, type Subscription, settleAll } from './subscription.js';
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
  readonly onClosed: () => void;
  readonly onError: (error: unknown) => void;
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

  async #answer(request: RawMessage): Promise<Reply> {
    const spec = this.#spec;
    try {
      const decoded = spec.codecs.forContentType(request.contentType).decode(request.payload);
      const data = await validate(spec.request, decoded, `request to ${request.subject}`);
      const call = { kind: 'handle' as const, subject: request.subject, data, headers: request.headers };
      const result = await runMiddleware(spec.middleware, call, async () =>
        spec.handler(data, messageInfo(request)),
      );
      await validate(spec.response, result, `response from ${request.subject}`);
      return { ok: true, headers: {}, ...spec.encode(result) };
    } catch (error) {
      const failure = error instanceof CourierError ? error : toCourierError(error, 'HANDLER_ERROR');
      return { ok: false, error: failure.toWire() };
    }
  }
}
