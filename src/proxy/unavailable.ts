import type { Duplex } from 'node:stream';
import { refuseUpgrade } from '../util/refuse-upgrade.js';

const RETRY_AFTER_SECONDS = 5;

/** 503 for a WebSocket upgrade whose workflow server is down (HTTP requests get the hub's own
 * answer: UserProxyOptions.unavailable). */
export function refuseUnavailableUpgrade(socket: Duplex, owner: string): void {
  refuseUpgrade(socket, 503, `The workflow server of ${owner} is not answering.`, { 'Retry-After': RETRY_AFTER_SECONDS });
}
