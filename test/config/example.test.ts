import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Authorizer, CONTROL_OPERATIONS, parseUserAuthorization } from '../../src/authz/index.js';
import { loadSiteConfig } from '../../src/config/index.js';
import { REPO } from './run-flotilla.js';

// The example site file decides as docs/configuration.md says it does.
const cfg = loadSiteConfig(join(REPO, 'jupyter_config.example.json'));
const groups = cfg.JupyterHub.load_groups;
const groupsOf = (user: string): string[] => Object.keys(groups).filter((group) => groups[group]?.users.includes(user));

function permitted(owner: string, user: string, ua?: Record<string, string[]>): string[] {
  const authorizer = new Authorizer(cfg.WorkflowServer.site_authorization);
  if (ua) authorizer.setUserAuthorization(owner, parseUserAuthorization(ua));
  return [...authorizer.permitted({ owner, ownerGroups: groupsOf(owner), user, userGroups: groupsOf(user) })].sort();
}

const control = [...CONTROL_OPERATIONS].sort();

describe('the example site', () => {
  it('lets anyone read an owner who wrote nothing, except dave, who gets nothing anywhere', () => {
    expect(permitted('carol', 'alice')).toEqual(['read']);
    expect(permitted('carol', 'dave')).toEqual([]);
    expect(permitted('alice', 'dave', { dave: ['READ', 'CONTROL'] })).toEqual([]);
  });

  it('lets alice give anyone up to READ and CONTROL, never broadcast', () => {
    expect(permitted('alice', 'bob', { bob: ['ALL'] })).toEqual(['read', ...control].sort());
  });

  it('gives ops members READ and CONTROL on bob by default, and bob may give carol everything but stop and kill', () => {
    // bob is in physics: the physics/ops limit negates stop and kill for every ops member.
    expect(permitted('bob', 'erin')).toEqual(['read', ...control.filter((op) => op !== 'stop' && op !== 'kill')].sort());
    const carol = permitted('bob', 'carol', { carol: ['ALL'] });
    expect(carol).toContain('broadcast');
    expect(carol).not.toContain('stop');
    expect(carol).not.toContain('kill');
  });

  it('never lets a physics owner give ops members stop or kill', () => {
    const erin = permitted('alice', 'erin', { 'group:ops': ['READ', 'CONTROL'] });
    expect(erin).toEqual(['read', ...control.filter((op) => op !== 'stop' && op !== 'kill')].sort());
  });

  it('names the groups and roles the documentation describes', () => {
    expect(groupsOf('alice')).toEqual(['physics']);
    expect(groupsOf('erin')).toEqual(['ops']);
    expect(cfg.JupyterHub.load_roles.map((role) => role.name)).toEqual(['user', 'ops-support']);
  });
});
