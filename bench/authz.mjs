// Benchmark of authorization decisions: a site file of 1,000 entries, owner files of 500 keys,
// 10,000 distinct users with 5 groups each. Run with `npm run bench:authz` (builds dist first).
// Everything is generated from a fixed seed, so runs are comparable.
import { performance } from 'node:perf_hooks';
import { Authorizer, OPERATIONS, parseSiteAuthorization, parseUserAuthorization } from '../dist/authz/index.js';
import { seededRandom } from '../dist/util/seeded-random.js';

const SEED = 20261122;
const USERS = 10_000;
const GROUPS = 200;
const GROUPS_PER_USER = 5;
const OWNERS = 100;
const SITE_ENTRIES = 1_000;
const OWNER_KEYS = 500;
const CACHED_PASSES = 20;
const TIME_BUDGET_MS = 50_000;

const random = seededRandom(SEED);
const pick = (items) => items[Math.floor(random() * items.length)];
const pad = (n, width) => String(n).padStart(width, '0');

const users = Array.from({ length: USERS }, (_, i) => `user${pad(i, 5)}`);
const owners = Array.from({ length: OWNERS }, (_, i) => `owner${pad(i, 3)}`);
const groups = Array.from({ length: GROUPS }, (_, i) => `grp${pad(i, 3)}`);

function groupsOfSomeone() {
  const chosen = new Set();
  while (chosen.size < GROUPS_PER_USER) chosen.add(pick(groups));
  // Sorted, as the workflow server passes a caller's groups (the cache's fast path compares lists).
  return [...chosen].sort();
}

const userGroups = new Map(users.map((u) => [u, groupsOfSomeone()]));
const ownerGroups = new Map(owners.map((o) => [o, groupsOfSomeone()]));

// Permission lists in the spellings people write, with the occasional negation.
const NAMES = [...OPERATIONS, 'READ', 'CONTROL', 'ALL', 'ExtTrigger', 'set-outputs', 'Control'];
function permissionList() {
  const length = 1 + Math.floor(random() * 4);
  return Array.from({ length }, () => (random() < 0.2 ? '!' : '') + pick(NAMES));
}

function userKey() {
  const r = random();
  if (r < 0.02) return '*';
  if (r < 0.5) return `group:${pick(groups)}`;
  return pick(users);
}

function ownerKey() {
  const r = random();
  if (r < 0.05) return '*';
  if (r < 0.5) return `group:${pick(groups)}`;
  return pick(owners);
}

function generateSite() {
  const site = {};
  let entries = 0;
  while (entries < SITE_ENTRIES) {
    const section = (site[ownerKey()] ??= {});
    const key = userKey();
    if (section[key]) continue;
    const r = random();
    section[key] = r < 0.4 ? { default: permissionList() } : r < 0.7 ? { limit: permissionList() } : { default: permissionList(), limit: permissionList() };
    entries++;
  }
  // The usual base line: everyone may read everyone's server by default.
  site['*'] = { ...site['*'], '*': { default: 'READ', limit: ['READ', 'CONTROL'] } };
  return site;
}

function generateOwnerFile() {
  const ua = {};
  while (Object.keys(ua).length < OWNER_KEYS) ua[userKey()] = permissionList();
  return ua;
}

let t0 = performance.now();
const siteText = JSON.stringify(generateSite());
const ownerTexts = owners.map(() => JSON.stringify(generateOwnerFile()));
const generateMs = performance.now() - t0;

t0 = performance.now();
const authorizer = new Authorizer(parseSiteAuthorization(JSON.parse(siteText)), { cacheSize: USERS * 2 });
owners.forEach((owner, i) => authorizer.setUserAuthorization(owner, parseUserAuthorization(JSON.parse(ownerTexts[i]))));
const setupMs = performance.now() - t0;

// Each user visits one owner; the same request objects are used for the cold and cached passes.
const requests = users.map((user, i) => {
  const owner = owners[i % OWNERS];
  return { owner, ownerGroups: ownerGroups.get(owner), user, userGroups: userGroups.get(user) };
});

const deadline = performance.now() + TIME_BUDGET_MS;
let permittedTotal = 0;
function pass() {
  const start = performance.now();
  let done = 0;
  for (const request of requests) {
    permittedTotal += authorizer.permitted(request).size;
    done++;
    if ((done & 1023) === 0 && performance.now() > deadline) break;
  }
  return { done, ms: performance.now() - start };
}

const cold = pass();
if (authorizer.cachedDecisions !== cold.done) throw new Error('cold pass was expected to fill the cache');
let cachedDone = 0;
let cachedMs = 0;
// CPU time too: on a busy machine wall-clock rates mostly measure the other processes.
const cpuBefore = process.cpuUsage();
for (let i = 0; i < CACHED_PASSES && performance.now() < deadline; i++) {
  const run = pass();
  cachedDone += run.done;
  cachedMs += run.ms;
}
const cpuUsed = process.cpuUsage(cpuBefore);
const cachedCpuMs = (cpuUsed.user + cpuUsed.system) / 1000;

const rate = (n, ms) => Math.round((n / ms) * 1000).toLocaleString('en-US');
const rows = [
  ['measure', 'count', 'time (ms)', 'per second'],
  ['generate files', `${SITE_ENTRIES} entries, ${OWNERS}×${OWNER_KEYS} keys`, generateMs.toFixed(1), ''],
  ['setup (parse + compile)', `1 site + ${OWNERS} owner files`, setupMs.toFixed(1), ''],
  ['decisions, cold', String(cold.done), cold.ms.toFixed(1), rate(cold.done, cold.ms)],
  ['decisions, cached', String(cachedDone), cachedMs.toFixed(1), rate(cachedDone, cachedMs)],
  ['decisions, cached (CPU time)', String(cachedDone), cachedCpuMs.toFixed(1), rate(cachedDone, cachedCpuMs)],
];
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const [i, row] of rows.entries()) {
  console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
console.log(`(${USERS} users with ${GROUPS_PER_USER} groups each, seed ${SEED}; mean permitted per decision ${(permittedTotal / (cold.done + cachedDone)).toFixed(2)})`);
console.log(`RESULT ${JSON.stringify({ authz_cold_decisions_per_s: Math.round((cold.done / cold.ms) * 1000), authz_cached_decisions_per_s: Math.round((cachedDone / cachedMs) * 1000), authz_cached_decisions_per_cpu_s: Math.round((cachedDone / cachedCpuMs) * 1000) })}`);
