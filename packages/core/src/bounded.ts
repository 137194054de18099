/**
 * Waiting for best-effort work (a goodbye to a server, a flush, a drain) no
 * longer than a bound, so that close() returns even when the server is gone.
 */

/** `promise`'s value, or `fallback` when it rejects or does not settle within `ms`. */
export async function bounded<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  try {
    return await Promise.race([promise.catch(() => fallback), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
