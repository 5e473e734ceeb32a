import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UserActivity } from '../../src/hub/activity/user-activity.js';
import { openHubDatabase } from '../../src/hub/db.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-activity-'));
  dirs.push(dir);
  return dir;
}

describe('UserActivity', () => {
  it('keeps created and last_activity across a restart, and never moves activity backwards', () => {
    const dir = freshDir();
    let clock = 1_000;
    const db = openHubDatabase(dir);
    const first = new UserActivity(db, () => clock);
    first.ensureAccounts(['alice', 'bob']);
    clock = 5_000;
    first.record('alice');
    first.record('alice', 2_000);
    first.record('nobody');
    expect(first.get('alice')).toEqual({ created: 1_000, lastActivity: 5_000 });
    expect(first.get('nobody')).toBeUndefined();
    first.close();
    db.close();

    const reopened = openHubDatabase(dir);
    const second = new UserActivity(reopened, () => 9_000);
    second.ensureAccounts(['alice', 'bob', 'carol']);
    expect(second.get('alice')).toEqual({ created: 1_000, lastActivity: 5_000 });
    expect(second.get('bob')).toEqual({ created: 1_000, lastActivity: undefined });
    expect(second.get('carol')).toEqual({ created: 9_000, lastActivity: undefined });
    second.remove('bob');
    second.close();
    reopened.close();

    const third = openHubDatabase(dir);
    const again = new UserActivity(third);
    expect(again.get('bob')).toBeUndefined();
    again.close();
    third.close();
  });

  it('writes recorded activity only when flushed', () => {
    const dir = freshDir();
    const db = openHubDatabase(dir);
    const activity = new UserActivity(db, () => 7_000, 3_600_000);
    activity.ensureAccounts(['alice']);
    activity.record('alice');
    const stored = () => db.prepare('SELECT last_activity FROM user_activity WHERE name = ?').get('alice') as { last_activity: number | null };
    expect(stored().last_activity).toBeNull();
    activity.flush();
    expect(stored().last_activity).toBe(7_000);
    activity.close();
    db.close();
  });
});
