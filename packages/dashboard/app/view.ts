/**
 * What a view is: it loads its data (the refresh loop calls `load` every
 * tick), and renders it. The loop re-renders only when the loaded data
 * differs from the last render's, so a quiet broker leaves the page alone
 * (selections, scroll and buttons stay put).
 */
import type { ApiClient } from './api.js';
import type { GroupInfo, StreamInfo } from './api-types.js';
import type { Throughput } from './throughput.js';

/** What every tick fetches anyway, for the rates. */
export interface Snapshot {
  streams: StreamInfo[];
  groups: GroupInfo[];
}

/** What a view gets from the shell. */
export interface ViewContext {
  readonly api: ApiClient;
  readonly throughput: Throughput;
  readonly snapshot: Snapshot;
  /** The query of the hash route: `#/streams?stream=x&from=5` gives `stream` and `from`. */
  readonly params: URLSearchParams;
  /** Goes to another route, e.g. `#/streams?stream=events`. */
  navigate(hash: string): void;
  /** Loads and renders the current view again now (after a click that changed its state). */
  refresh(): void;
}

/** A page of the dashboard. */
export interface View<T = unknown> {
  /** Route and test id: `#/${id}`, `data-testid="view-${id}"`. */
  readonly id: string;
  readonly title: string;
  load(context: ViewContext): Promise<T>;
  render(data: T, context: ViewContext): Node;
}

/** Declares a view with its data type checked between `load` and `render`. */
export function view<T>(definition: View<T>): View {
  return definition as View;
}
