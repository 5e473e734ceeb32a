import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHub } from '../../src/hub/index.js';
import { PROOF_HEADER, signProof } from '../../src/identity/proof.js';
import { waitFor } from '../spawner/harness.js';
import { findFile, isRoot, killUid, statusUids } from '../spawner/os-accounts.js';
import { Authorizer } from '../../src/authz/index.js';
import { loadOwnerAuthorization, loadSiteConfig } from '../../src/config/index.js';
import { createDemoSite, demoSiteWanted, describeDemoSite } from '../../src/demo/demo-site.js';
import { HtpasswdFile } from '../../src/htpasswd/index.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'flotilla-demo-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('demo site', () => {
  it('is wanted only on embedded defaults with no accounts yet', () => {
    const htpasswdFile = join(root, 'data', 'htpasswd');
    expect(demoSiteWanted({ configGiven: false, htpasswdFile })).toBe(true);
    expect(demoSiteWanted({ configGiven: true, htpasswdFile })).toBe(false);
  });

  it('writes a valid site whose accounts, groups and sharing work', async () => {
    const site = await createDemoSite({ dataDir: join(root, 'data'), configFile: join(root, 'jupyter_config.json') });
    const cfg = loadSiteConfig(site.configFile);
    const example = loadSiteConfig(join(import.meta.dirname, '..', '..', 'jupyter_config.example.json'));
    expect(cfg.JupyterHub.data_dir).toBe(join(root, 'data'));
    expect(cfg.JupyterHub.authenticator.htpasswd_file).toBe(join(root, 'data', 'htpasswd'));
    expect(cfg.JupyterHub.cookie_secret_file).toBe(join(root, 'data', 'cookie_secret'));
    // The example's site, exactly: accounts lists, groups, roles and site_authorization.
    expect(cfg.JupyterHub.authenticator.admin_users).toEqual(example.JupyterHub.authenticator.admin_users);
    expect(cfg.JupyterHub.load_groups).toEqual(example.JupyterHub.load_groups);
    expect(cfg.JupyterHub.load_roles).toEqual(example.JupyterHub.load_roles);
    expect(cfg.WorkflowServer.site_authorization?.toJSON()).toEqual(example.WorkflowServer.site_authorization?.toJSON());
    expect(site.users.map((u) => u.name)).toEqual(['alice', 'bob', 'carol', 'dave', 'erin']);
    expect(site.users.filter((u) => u.admin).map((u) => u.name)).toEqual(['erin']);

    const htpasswd = new HtpasswdFile(cfg.JupyterHub.authenticator.htpasswd_file);
    for (const user of site.users) expect(await htpasswd.verify(user.name, user.password)).toBe(true);
    expect(await htpasswd.verify('alice', 'wrong')).toBe(false);

    expect(statSync(site.credentialsFile).mode & 0o777).toBe(0o600);
    expect(statSync(site.configFile).mode & 0o777).toBe(0o600);
    const credentials = readFileSync(site.credentialsFile, 'utf8');
    for (const user of site.users) expect(credentials).toContain(user.password);

    const authorizer = new Authorizer(cfg.WorkflowServer.site_authorization);
    const dataDir = cfg.JupyterHub.data_dir;
    for (const user of site.users) {
      authorizer.setUserAuthorization(user.name, loadOwnerAuthorization(dataDir, user.name));
      expect(existsSync(join(dataDir, 'users', user.name, 'workflows', 'example', 'flow.yaml'))).toBe(true);
    }
    const groups = (u: string) => Object.entries(cfg.JupyterHub.load_groups).filter(([, g]) => g.users.includes(u)).map(([n]) => n);
    const permitted = (owner: string, user: string) =>
      [...authorizer.permitted({ owner, ownerGroups: groups(owner), user, userGroups: groups(user) })].sort();
    // alice gave bob CONTROL on top of READ (the site lets alice give READ and CONTROL); carol only READ.
    expect(permitted('alice', 'bob')).toContain('play');
    expect(permitted('alice', 'carol')).toEqual(['read']);
    // The site takes everything from dave, whatever an owner writes.
    expect(permitted('alice', 'dave')).toEqual([]);
    // bob wrote nothing: the site's defaults decide. ops members may control physics servers, but not stop or kill.
    expect(permitted('bob', 'alice')).toEqual(['read']);
    expect(permitted('bob', 'carol')).toContain('trigger');
    expect(permitted('bob', 'carol')).not.toContain('stop');
    expect(permitted('bob', 'erin')).not.toContain('kill');
    // broadcast is never given away in the demo.
    expect(permitted('bob', 'carol')).not.toContain('broadcast');
  });

  it('refuses to overwrite an existing configuration', async () => {
    const args = { dataDir: join(root, 'data'), configFile: join(root, 'jupyter_config.json') };
    await createDemoSite(args);
    await expect(createDemoSite(args)).rejects.toThrow(/already exists/);
  });

  it('prints every account once in its banner', async () => {
    const site = await createDemoSite({ dataDir: join(root, 'data'), configFile: join(root, 'jupyter_config.json') });
    const banner = describeDemoSite(site, 'http://127.0.0.1:8000');
    for (const user of site.users) expect(banner).toContain(`${user.name}`);
    expect(banner).toContain('http://127.0.0.1:8000/hub/login');
  });
});

// `npm start` as root: the demo's hub runs every owner under their own dynamic uid.
describe.skipIf(!isRoot)(`the demo site run by root${isRoot ? '' : ' (skipped: not running as root)'}`, () => {
  it("runs alice's server and her example workflow as her own uid, with the site file the hub's alone", async () => {
    // A checkout others can pass through, as the installation check demands.
    chmodSync(root, 0o755);
    const site = await createDemoSite({ dataDir: join(root, 'data'), configFile: join(root, 'jupyter_config.json') });
    const hub = createHub(loadSiteConfig(site.configFile));
    const spawner = hub.context.servers.spawner;
    let uid: number | undefined;
    try {
      const info = await spawner.start('alice');
      uid = statusUids(info.pid)[1];
      expect(uid).toBeGreaterThanOrEqual(61184);
      const ownerDir = join(root, 'data', 'users', 'alice');
      expect(statSync(ownerDir)).toMatchObject({ uid, gid: uid });
      expect(statSync(join(ownerDir, 'workflows', 'example', 'flow.yaml')).uid).toBe(uid);
      expect(statSync(site.configFile).uid).toBe(0);
      expect(statSync(site.configFile).mode & 0o777).toBe(0o600);
      const target = '/user/alice/graphql';
      const proof = signProof(info.secret, { user: 'alice', groups: [], owner: 'alice', ownerGroups: [], via: 'token' }, { method: 'POST', target });
      const res = await fetch(`${info.url}${target}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [PROOF_HEADER]: proof },
        body: JSON.stringify({ query: 'mutation { play(workflows: ["example"]) { ok } }' }),
      });
      expect(((await res.json()) as { data?: { play?: { ok: boolean }[] } }).data?.play?.[0]?.ok).toBe(true);
      await waitFor('a job of the example to write its output', () => findFile(join(ownerDir, 'runs', 'example'), 'job.out') !== undefined, 60_000);
      expect(statSync(findFile(join(ownerDir, 'runs', 'example'), 'job.out')!).uid).toBe(uid);
    } finally {
      await spawner.stop('alice');
      await hub.close();
      if (uid) killUid(uid, root);
    }
  }, 120_000);
});
