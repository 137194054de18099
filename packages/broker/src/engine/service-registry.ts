/**
 * The service registry: every connection says which service and instance it
 * is; the registry lists the live ones with their request handlers,
 * subscriptions and the subjects they call. A connection that closes or dies
 * leaves the list.
 */

/** The most request subjects kept per connection (a caller of many distinct subjects is shown by its first). */
export const MAX_REQUEST_SUBJECTS = 64;

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
  /** Subjects it has sent requests on, at most `MAX_REQUEST_SUBJECTS`. */
  requests: string[];
}

/** A registered connection; update it as the connection serves and subscribes, remove it when it goes. */
export interface Registration {
  readonly handlers: Set<string>;
  readonly subscriptions: Set<string>;
  readonly requests: Set<string>;
  /** Records a request on `subject` (up to `MAX_REQUEST_SUBJECTS` distinct ones). */
  requested(subject: string): void;
  remove(): void;
}

/** See the module comment. */
export class ServiceRegistry {
  readonly #entries = new Set<{
    info: Omit<ServiceInstance, 'handlers' | 'subscriptions' | 'requests'>;
    registration: Registration;
  }>();

  /** Adds a connection. */
  register(info: Omit<ServiceInstance, 'handlers' | 'subscriptions' | 'requests'>): Registration {
    const requests = new Set<string>();
    const entry = {
      info,
      registration: {
        handlers: new Set<string>(),
        subscriptions: new Set<string>(),
        requests,
        requested: (subject: string) => {
          if (requests.size < MAX_REQUEST_SUBJECTS) requests.add(subject);
        },
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
        requests: [...registration.requests].sort(),
      }))
      .sort((a, b) => a.service.localeCompare(b.service) || a.instance.localeCompare(b.instance));
  }
}
