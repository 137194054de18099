/**
 * The circuit breaker: after `threshold` consecutive failures on a subject,
 * calls on it fail fast with `CIRCUIT_OPEN` for `resetAfter`; then one trial
 * call goes through (half-open), and its outcome closes or reopens the
 * circuit.
 */
import { type Duration, optionalMillis } from '../duration.js';
import { CourierError } from '../errors.js';
import { wholeNumber } from '../option-checks.js';
import { type CallKind, type Middleware, only } from './compose.js';

/** Options for {@link circuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. Default 5. */
  threshold?: number;
  /** How long the circuit stays open before a trial call. Default 10s. */
  resetAfter?: Duration;
  /** Which calls it guards. Default publish and request. */
  kinds?: readonly CallKind[];
  /** Which errors count as failures. Default: all but `INVALID_MESSAGE` (the caller's fault, not the callee's). */
  isFailure?: (error: unknown) => boolean;
}

interface Circuit {
  failures: number;
  openUntil: number;
  trial: boolean;
}

/** A circuit breaker with one circuit per subject. */
export function circuitBreaker(options: CircuitBreakerOptions = {}): Middleware {
  const threshold = wholeNumber(options.threshold, 'circuitBreaker.threshold', { min: 1, fallback: 5 });
  const resetAfter = optionalMillis(options.resetAfter, 'circuitBreaker.resetAfter', 10_000);
  const isFailure = options.isFailure ?? ((error) => !CourierError.is(error, 'INVALID_MESSAGE'));
  const circuits = new Map<string, Circuit>();

  return only(options.kinds ?? ['publish', 'request'], async (call, next) => {
    let circuit = circuits.get(call.subject);
    if (!circuit) {
      circuit = { failures: 0, openUntil: 0, trial: false };
      circuits.set(call.subject, circuit);
    }
    const open = circuit.failures >= threshold;
    if (open && (Date.now() < circuit.openUntil || circuit.trial)) {
      const wait = Math.max(circuit.openUntil - Date.now(), 0);
      throw new CourierError(
        'CIRCUIT_OPEN',
        `circuit for ${call.subject} is open after ${circuit.failures} consecutive failures; next trial in ${wait} ms`,
        { data: { subject: call.subject, failures: circuit.failures } },
      );
    }
    if (open) circuit.trial = true;
    try {
      const result = await next();
      circuit.failures = 0;
      return result;
    } catch (error) {
      if (isFailure(error)) {
        circuit.failures++;
        if (circuit.failures >= threshold) circuit.openUntil = Date.now() + resetAfter;
      }
      throw error;
    } finally {
      if (open) circuit.trial = false;
    }
  });
}
