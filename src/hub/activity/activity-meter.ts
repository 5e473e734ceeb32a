/** The finest grain of activity: a burst of requests or messages within it counts once. */
export const ACTIVITY_GRAIN_MS = 1_000;

export interface ActivitySinks {
  /** The server's own activity (the spawner's record; the built-in idle_timeout reads it). */
  server(owner: string): void;
  /** The owner's activity as the REST API reports it (`last_activity`, kept in the hub database). */
  user(owner: string, at: number): void;
}

/**
 * Proxied traffic to an owner's server (HTTP requests, WebSocket messages) made into activity of
 * that server and of its owner, as JupyterHub's proxy reports it: at most once per grain per
 * owner, so a busy socket or a burst of requests costs one map lookup each and nothing more.
 */
export class ActivityMeter {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly sinks: ActivitySinks,
    private readonly now: () => number = Date.now,
    private readonly grainMs = ACTIVITY_GRAIN_MS,
  ) {}

  record(owner: string): void {
    const at = this.now();
    const before = this.last.get(owner);
    if (before !== undefined && at - before < this.grainMs) return;
    this.last.set(owner, at);
    this.sinks.server(owner);
    this.sinks.user(owner, at);
  }
}
