/**
 * SIGTERM to a real hub process with proxied WebSockets open: every client is told 1001 Going
 * Away, the hub exits even when a client never answers, and the workflow server keeps running
 * (servers outlive the hub) until `flotilla stop-servers` stops it. The processes run dist/: `npm run build` first.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import request from 'supertest';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { runFlotilla } from '../config/run-flotilla.js';
import { startHub } from './helpers.js';
import { freePort, startHubProcess, type HubProcess } from './hub-process.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('hub shutdown with proxied WebSockets open', () => {
  let hub: HubProcess | undefined;
  let serverPid: number | undefined;
  let dir: string | undefined;
  afterAll(() => {
    hub?.kill();
    if (serverPid !== undefined && isAlive(serverPid)) process.kill(serverPid, 'SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function openSubscription(url: string, token: string): Promise<WebSocket> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/user/alice/subscriptions`, 'graphql-transport-ws', {
      headers: { Authorization: `token ${token}` },
    });
    return new Promise((resolve, reject) => {
      ws.once('error', reject);
      // The workflow server's ack proves the socket is proxied end to end.
      ws.once('open', () => ws.send(JSON.stringify({ type: 'connection_init' })));
      ws.once('message', (data) => {
        if (JSON.parse(String(data)).type === 'connection_ack') resolve(ws);
        else reject(new Error(`unexpected first message ${String(data)}`));
      });
    });
  }

  it('closes them with 1001, exits, and leaves the workflow server running', async () => {
    const port = await freePort();
    const prepared = await startHub({ hub: { bind_url: `http://127.0.0.1:${port}`, spawner: { stop_grace: 5 } } });
    dir = prepared.dir;
    const { token } = prepared.hub.context.tokens.create('alice', { note: 'shutdown drill' });
    await prepared.close(true);

    hub = await startHubProcess(join(dir, 'jupyter_config.json'), port);
    const api = () => request(hub!.url);
    // 201 when up within 10 s, 202 while still starting (JupyterHub's statuses).
    expect([201, 202]).toContain((await api().post('/hub/api/users/alice/server').set('Authorization', `token ${token}`)).status);
    await expect
      .poll(async () => (await api().get('/hub/api/users/alice').set('Authorization', `token ${token}`)).body.server, { timeout: 30_000, interval: 200 })
      .toBe('/user/alice/');

    const polite = await openSubscription(hub.url, token);
    const closed = new Promise<number>((resolve) => polite.once('close', (code) => resolve(code)));
    // A client that never reads again, so never answers the close: the hub must not wait for it.
    const stubborn = await openSubscription(hub.url, token);
    (stubborn as unknown as { _socket: { pause(): void } })._socket.pause();

    hub.child.kill('SIGTERM');
    expect(await closed).toBe(1001);
    expect((await hub.exited).code).toBe(0);
    stubborn.terminate();

    const db = new Database(join(dir, 'hub.sqlite'), { readonly: true });
    serverPid = (db.prepare('SELECT pid FROM servers WHERE owner = ?').get('alice') as { pid: number }).pid;
    db.close();
    expect(isAlive(serverPid)).toBe(true);

    // Starting over: `stop-servers` finds what outlived the hub and stops it.
    const stop = await runFlotilla(['stop-servers', '--config', join(dir, 'jupyter_config.json')]);
    expect(stop.stderr).toBe('');
    expect(stop.code).toBe(0);
    expect(stop.stdout).toContain(`stopped 1 workflow server on ${dir}: alice`);
    // It has exited; init reaps it in its own time.
    await expect.poll(() => isAlive(serverPid!), { timeout: 10_000 }).toBe(false);
    const again = await runFlotilla(['stop-servers', '--config', join(dir, 'jupyter_config.json')]);
    expect(again.stdout).toBe(`no workflow servers are running on ${dir}\n`);
  });
});
