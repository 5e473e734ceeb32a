import type { Spawner, ServerStatus } from '../spawner/index.js';
import type { Logger } from '../util/logger.js';

/**
 * The hub's view of workflow servers on top of the spawner: starts in the background and keeps
 * the reason of the last failed start, so that pages and the API can say why a server is down.
 */
export class ServerControl {
  private readonly failures = new Map<string, string>();

  constructor(
    readonly spawner: Spawner,
    private readonly logger: Logger,
  ) {}

  status(owner: string): ServerStatus {
    return this.spawner.status(owner);
  }

  /**
   * Starts the server without making the caller wait; concurrent calls share one start
   * (spawner). The promise settles (never rejects) when the start is over, either way.
   * `pageVisit`: for someone opening one of its pages, who is sent there once it is up.
   */
  startInBackground(owner: string, reason: { pageVisit?: boolean } = {}): Promise<void> {
    this.failures.delete(owner);
    return this.spawner.start(owner, reason).then(
      () => {
        this.failures.delete(owner);
      },
      (err: Error) => {
        this.failures.set(owner, err.message);
        this.logger.warn({ owner, err: err.message }, 'workflow server failed to start');
      },
    );
  }

  stop(owner: string): Promise<void> {
    return this.spawner.stop(owner);
  }

  lastFailure(owner: string): string | undefined {
    return this.failures.get(owner);
  }

  lastActivity(owner: string): number | undefined {
    return this.spawner.info(owner)?.lastActivity;
  }

  /** Activity reported for the running server (`POST /hub/api/users/NAME/activity`). */
  noteActivity(owner: string, at: number): void {
    this.spawner.touch(owner, at);
  }

  startedAt(owner: string): number | undefined {
    return this.spawner.info(owner)?.startedAt;
  }
}
