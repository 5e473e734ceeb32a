/**
 * The isolation modes through a real hub, real workflow servers and real tasks: what a task of
 * one owner can reach. Needs root (the default as root is `dynamic`); `system` also needs
 * useradd. Skipped, with the reason, otherwise.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORDS, signIn, startHub, waitFor, writeUsers, type HubFixture } from '../hub/helpers.js';
import { accountsSkipReason, addAccount, canManageAccounts, findFile, isRoot, killUid, removeAccounts, statusUids, type Account } from './os-accounts.js';

const SLOW = 180_000;
const DEFAULT_RANGE = { first: 61184, last: 65519 };

/** Each line: a label, then what the attempt printed on stderr ("READ" if it succeeded). */
function probeScript(attempts: Record<string, string>, uidOfOtherServer: number): string {
  const lines = [
    'try() { label=$1; shift; if out=$("$@" 2>&1 >/dev/null); then echo "$label: READ"; else echo "$label: $out"; fi; }',
    'echo "uid: $(id -u) groups: $(id -G)"',
    'echo "home: $HOME user: $USER"',
    ...Object.entries(attempts).map(([label, path]) => `try ${label} cat ${path}`),
    'echo "secret-vars: $(env | grep -ci secret)"',
    `echo "other-server-uid: ${uidOfOtherServer}"`,
    'echo env-begin; env; echo env-end',
    'echo probe:done',
  ];
  return `tasks:\n  probe:\n    script: ${JSON.stringify(lines.join('\n'))}\n`;
}

function isolationSuite(mode: 'dynamic' | 'system', runnable: boolean, skipReason: string): void {
  describe.skipIf(!runnable)(`isolation "${mode}" through a real hub${runnable ? '' : ` (skipped: ${skipReason})`}`, () => {
    const homes = mkdtempSync(join(tmpdir(), 'flotilla-isolation-homes-'));
    const accounts: Account[] = [];
    const uids = new Set<number>();
    let f: HubFixture;
    let owner: string;
    let other: string;
    let adminToken: string;
    let ownerToken: string;

    const spawner = () => f.hub.context.servers.spawner;
    const api = (method: 'post' | 'delete', path: string) => request(f.url)[method](path).set('Authorization', `token ${adminToken}`);

    async function startServer(name: string) {
      expect([201, 202]).toContain((await api('post', `/hub/api/users/${name}/server`)).status);
      await waitFor(`${name}'s server to run`, () => spawner().status(name) === 'running', 90_000);
      const info = spawner().info(name)!;
      uids.add(statusUids(info.pid)[1]!);
      return info;
    }

    function writeFile(path: string, text: string): void {
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, text);
    }

    beforeAll(async () => {
      if (mode === 'system') {
        accounts.push(addAccount(homes), addAccount(homes));
        [owner, other] = accounts.map((a) => a.name) as [string, string];
      } else {
        [owner, other] = ['alice', 'bob'];
      }
      const dir = mkdtempSync(join(tmpdir(), 'flotilla-isolation-'));
      await writeUsers(dir, { [owner]: 'owner-secret-1', [other]: 'other-secret-2', admin: PASSWORDS.admin! });
      // The other owner's files, written by root before their first start (as on a site that
      // turns isolation on), must become theirs alone.
      writeFile(join(dir, 'users', other, 'workflows', 'private', 'flow.yaml'), 'tasks:\n  a:\n    script: "true"\n');
      writeFile(join(dir, 'users', other, 'jupyter_config.json'), '{"WorkflowServer": {"user_authorization": {}}}\n');
      // dynamic is not named: it is the default as root.
      f = await startHub({ dir, hub: { spawner: { start_timeout: 90, poll_interval: 1, ...(mode === 'system' ? { isolation: 'system' } : {}) } } });
      const admin = f.agent();
      const { xsrf } = await signIn(admin, 'admin');
      adminToken = (await admin.post('/hub/api/users/admin/tokens').set('X-XSRFToken', xsrf).send({})).body.token;
      ownerToken = (await admin.post(`/hub/api/users/${owner}/tokens`).set('X-XSRFToken', xsrf).send({})).body.token;
      expect(adminToken && ownerToken).toBeTruthy();
    }, SLOW);

    afterAll(async () => {
      for (const s of spawner().list()) await f.hub.context.servers.stop(s.owner).catch(() => undefined);
      await f.close();
      for (const uid of uids) if (uid !== 0) killUid(uid, f.dir);
      removeAccounts(accounts);
      rmSync(homes, { recursive: true, force: true });
    }, SLOW);

    it("makes the hub's files root-only and the data folders passable only", () => {
      for (const file of ['hub.sqlite', 'cookie_secret', 'htpasswd', 'jupyter_config.json']) {
        const st = statSync(join(f.dir, file));
        expect({ file, uid: st.uid, mode: st.mode & 0o777 }).toEqual({ file, uid: 0, mode: 0o600 });
      }
      for (const folder of [f.dir, join(f.dir, 'users')]) {
        const st = statSync(folder);
        expect({ folder, uid: st.uid, mode: st.mode & 0o777 }).toEqual({ folder, uid: 0, mode: 0o711 });
      }
    });

    it("a task reads none of the hub's files, another owner's files or server, nor a secret in its environment", async () => {
      const otherInfo = await startServer(other);
      const otherUid = statusUids(otherInfo.pid)[1]!;
      const otherDir = join(f.dir, 'users', other);
      expect(statSync(otherDir)).toMatchObject({ uid: otherUid, gid: mode === 'system' ? accounts[1]!.gid : otherUid });
      expect(statSync(otherDir).mode & 0o777).toBe(0o700);
      expect(statSync(join(otherDir, 'workflows', 'private', 'flow.yaml')).uid).toBe(otherUid);

      const attempts = {
        'hub-db': join(f.dir, 'hub.sqlite'),
        'hub-db-wal': join(f.dir, 'hub.sqlite-wal'),
        cookie: join(f.dir, 'cookie_secret'),
        htpasswd: join(f.dir, 'htpasswd'),
        'site-file': join(f.dir, 'jupyter_config.json'),
        'other-flow': join(otherDir, 'workflows', 'private', 'flow.yaml'),
        'other-config': join(otherDir, 'jupyter_config.json'),
        'other-environ': `/proc/${otherInfo.pid}/environ`,
      };
      writeFile(join(f.dir, 'users', owner, 'workflows', 'probe', 'flow.yaml'), probeScript(attempts, otherUid));
      const info = await startServer(owner);
      const uid = statusUids(info.pid)[1]!;
      expect(statusUids(info.pid)).toEqual([uid, uid, uid, uid]);
      expect(uid).not.toBe(otherUid);
      if (mode === 'dynamic') {
        for (const u of [uid, otherUid]) expect(u >= DEFAULT_RANGE.first && u <= DEFAULT_RANGE.last).toBe(true);
      } else {
        expect(uid).toBe(accounts[0]!.uid);
      }

      const played = await request(f.url)
        .post(`/user/${owner}/graphql`)
        .set('Authorization', `token ${ownerToken}`)
        .send({ query: 'mutation { play(workflows: ["probe"]) { ok message } }' });
      expect(played.body.data?.play?.[0], JSON.stringify(played.body)).toMatchObject({ ok: true });
      const runs = join(f.dir, 'users', owner, 'runs', 'probe');
      let out = '';
      await waitFor('the probe task to finish', () => {
        const file = findFile(runs, 'job.out');
        out = file ? readFileSync(file, 'utf8') : '';
        return out.includes('probe:done');
      }, 60_000);

      const [report, env] = [out.slice(0, out.indexOf('env-begin')), out.slice(out.indexOf('env-begin'))];
      const gid = mode === 'system' ? accounts[0]!.gid : uid;
      const denied = (path: string) => `cat: ${path}: Permission denied`;
      expect(report.trim().split('\n')).toEqual([
        `uid: ${uid} groups: ${gid}`,
        `home: ${mode === 'system' ? join(homes, `home-${owner}`) : join(f.dir, 'users', owner)} user: ${owner}`,
        ...Object.entries(attempts).map(([label, path]) => `${label}: ${denied(path)}`),
        'secret-vars: 0',
        `other-server-uid: ${otherUid}`,
      ]);
      expect(env).not.toContain(info.secret);
      expect(env).not.toContain(otherInfo.secret);
    }, SLOW);

    it.skipIf(mode !== 'dynamic')('keeps each owner\'s uid across hub restarts', async () => {
      const before = statusUids(spawner().info(owner)!.pid)[1]!;
      await f.close(true);
      f = await startHub({ dir: f.dir, hub: { spawner: { start_timeout: 90, poll_interval: 1 } } });
      // The restarted hub adopts the server only because it still runs as the recorded uid.
      expect(spawner().info(owner)).toBeDefined();
      expect((await api('delete', `/hub/api/users/${owner}/server`)).status).toBe(204);
      const again = await startServer(owner);
      expect(statusUids(again.pid)[1]).toBe(before);
    }, SLOW);
  });
}

isolationSuite('dynamic', isRoot, 'not running as root');
isolationSuite('system', canManageAccounts, accountsSkipReason);
