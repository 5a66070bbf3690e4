/** Options for {@link init}. Only `endpoint` and `site` are required. */
export interface StintOptions {
  /** Base URL of the collector, e.g. "https://stint.example.workers.dev". */
  endpoint: string | URL;
  /** Site id as configured in the collector's SITES. */
  site: string;
  /** Minutes without activity after which a new session starts. Default 30. */
  sessionTimeoutMin?: number;
  /** Engaged time stops this long after the last input. Default 15000. */
  idleTimeoutMs?: number;
  /** Where the session ID lives. Default "local" (shared by tabs). */
  storage?: "local" | "session" | "memory";
  /** Send nothing when Do Not Track is on. Default true. */
  respectDnt?: boolean;
  /** Send nothing when Global Privacy Control is on. Default true. */
  respectGpc?: boolean;
  /** "pending" queues in memory until grant(). Default "granted". */
  consent?: "granted" | "pending";
  /** Query parameters kept in URLs besides utm_*. Default []. */
  keepParams?: string[];
  /** Count history.pushState/replaceState/popstate path changes as page views. Default true. */
  spa?: boolean;
  /** Also count hashchange as a page view. Default false. */
  hashRouting?: boolean;
  /** Flush interval while the visitor is engaged. Default 15000. */
  flushIntervalMs?: number;
  /** Where to load the WebAssembly from, if not beside this module. */
  wasmUrl?: string | URL;
}

export type PropValue = string | number | boolean;

export function init(options: StintOptions): Promise<void>;
export function track(name: string, props?: Record<string, PropValue>): void;
export function flush(): void;
export function grant(): void;
/** The current session's ID (a UUID), or null before init() or where nothing is tracked. */
export function sessionId(): string | null;
