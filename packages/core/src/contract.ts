/**
 * Contracts: a subject and the Standard Schema (`@standard-schema/spec`) its
 * data must satisfy, shared by producer and consumer so types flow from the
 * contract to the handler. Any Standard Schema library works: zod, valibot,
 * arktype. A contract without a schema is typed by its type parameter and
 * not checked at run time.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { CourierError } from './errors.js';
import { assertSubject } from './subject.js';

/** An event: a subject and the schema of its data. `In` is what producers pass, `Out` what handlers get. */
export interface EventContract<In = unknown, Out = In> {
  readonly kind: 'event';
  readonly subject: string;
  readonly schema: StandardSchemaV1<In, Out> | undefined;
}

/** A request-reply call: a subject, and the schemas of the request and the response. */
export interface RpcContract<ReqIn = unknown, ReqOut = ReqIn, ResIn = unknown, ResOut = ResIn> {
  readonly kind: 'rpc';
  readonly subject: string;
  readonly request: StandardSchemaV1<ReqIn, ReqOut> | undefined;
  readonly response: StandardSchemaV1<ResIn, ResOut> | undefined;
}

/** What a producer passes for an event contract or a plain subject. */
export type EventInput<C> = C extends EventContract<infer In, infer _Out> ? In : unknown;
/** What a handler receives for an event contract or a plain subject. */
export type EventOutput<C> = C extends EventContract<infer _In, infer Out> ? Out : unknown;
/** The request a caller passes. */
export type RequestInput<C> = C extends RpcContract<infer In, infer _O, infer _RI, infer _RO> ? In : unknown;
/** The request a handler receives. */
export type RequestOutput<C> =
  C extends RpcContract<infer _I, infer Out, infer _RI, infer _RO> ? Out : unknown;
/** What a handler returns. */
export type ResponseInput<C> = C extends RpcContract<infer _I, infer _O, infer In, infer _RO> ? In : unknown;
/** What the caller gets back. */
export type ResponseOutput<C> =
  C extends RpcContract<infer _I, infer _O, infer _RI, infer Out> ? Out : unknown;

/**
 * Declares an event. Without a schema, pass the data type: `event<{ id: string }>('orders.created')`.
 * @throws CourierError `INVALID_SUBJECT` when the subject is malformed or has wildcards.
 */
export function event<S extends StandardSchemaV1>(
  subject: string,
  schema: S,
): EventContract<StandardSchemaV1.InferInput<S>, StandardSchemaV1.InferOutput<S>>;
export function event<T = unknown>(subject: string): EventContract<T, T>;
export function event(subject: string, schema?: StandardSchemaV1): EventContract {
  assertSubject(subject, { wildcards: false });
  return Object.freeze({ kind: 'event', subject, schema });
}

/**
 * Declares a request-reply call.
 * @throws CourierError `INVALID_SUBJECT` when the subject is malformed or has wildcards.
 */
export function rpc<Req extends StandardSchemaV1, Res extends StandardSchemaV1>(
  subject: string,
  schemas: { request: Req; response: Res },
): RpcContract<
  StandardSchemaV1.InferInput<Req>,
  StandardSchemaV1.InferOutput<Req>,
  StandardSchemaV1.InferInput<Res>,
  StandardSchemaV1.InferOutput<Res>
>;
export function rpc<Req = unknown, Res = unknown>(subject: string): RpcContract<Req, Req, Res, Res>;
export function rpc(
  subject: string,
  schemas?: { request?: StandardSchemaV1; response?: StandardSchemaV1 },
): RpcContract {
  assertSubject(subject, { wildcards: false });
  return Object.freeze({ kind: 'rpc', subject, request: schemas?.request, response: schemas?.response });
}

/** One schema issue, with its path as dotted text. */
export interface SchemaIssue {
  message: string;
  path: string;
}

function pathOf(issue: StandardSchemaV1.Issue): string {
  return (issue.path ?? [])
    .map((segment) => (typeof segment === 'object' && segment !== null ? segment.key : segment))
    .map(String)
    .join('.');
}

/**
 * Validates `value` against `schema` (if any) and returns the schema's output.
 * @throws CourierError `INVALID_MESSAGE` listing every issue, with the issues in `data.issues`.
 */
export async function validate<In, Out>(
  schema: StandardSchemaV1<In, Out> | undefined,
  value: unknown,
  what: string,
): Promise<Out> {
  if (schema === undefined) return value as Out;
  let result = schema['~standard'].validate(value);
  if (result instanceof Promise) result = await result;
  if (result.issues === undefined) return result.value;
  const issues: SchemaIssue[] = result.issues.map((issue) => ({
    message: issue.message,
    path: pathOf(issue),
  }));
  const listed = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  throw new CourierError('INVALID_MESSAGE', `${what} does not match its schema: ${listed}`, {
    data: { issues },
  });
}
