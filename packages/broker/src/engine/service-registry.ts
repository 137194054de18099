/**
 * The service registry: every connection says which service and instance it
 * is; the registry lists the live ones with their request handlers and
 * subscriptions. A connection that closes or dies leaves the list.
 */

/** One live connection as the registry shows it. */
export interface ServiceInstance {
  service: string;
  instance: string;
  /** The client library and version that connected. */
  client: string;
  /** The service's own version (its release), when its HELLO said. */
  version?: string;
  /** The peer's address. */
  address: string;
  /** When it connected (ms since the epoch). */
  since: number;
  /** Subjects it answers requests on. */
  handlers: string[];
  /** Its subscriptions, as `group subject` (private subscriptions show their generated group). */
  subscriptions: string[];
}

/** A registered connection; update it as the connection serves and subscribes, remove it when it goes. */
export interface Registration {
  readonly handlers: Set<string>;
  readonly subscriptions: Set<string>;
  remove(): void;
}

/** See the module comment. */
export class ServiceRegistry {
  readonly #entries = new Set<{
    info: Omit<ServiceInstance, 'handlers' | 'subscriptions'>;
    registration: Registration;
  }>();

  /** Adds a connection. */
  register(info: Omit<ServiceInstance, 'handlers' | 'subscriptions'>): Registration {
    const entry = {
      info,
      registration: {
        handlers: new Set<string>(),
        subscriptions: new Set<string>(),
        remove: () => {
          this.#entries.delete(entry);
        },
      },
    };
    this.#entries.add(entry);
    return entry.registration;
  }

  /** Live instances, by service then instance. */
  list(): ServiceInstance[] {
    return [...this.#entries]
      .map(({ info, registration }) => ({
        ...info,
        handlers: [...registration.handlers].sort(),
        subscriptions: [...registration.subscriptions].sort(),
      }))
      .sort((a, b) => a.service.localeCompare(b.service) || a.instance.localeCompare(b.instance));
  }
}
