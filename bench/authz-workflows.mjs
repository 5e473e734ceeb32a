// Benchmark of per-workflow decisions (workflow_authorization) against server-wide ones: one owner
// with 500 keys in user_authorization and 50 workflow sections of 50 keys each, 5,000 users with
// two groups. Run after `npm run build`: `node bench/authz-workflows.mjs`.
import { performance } from 'node:perf_hooks';
import { Authorizer, parseSiteAuthorization, parseUserAuthorization, parseWorkflowAuthorization } from '../dist/authz/index.js';
import { isValidWorkflowName, NAME_RULE } from '../dist/config/index.js';

const DECISIONS = 200_000;
const USERS = 5_000;
const WORKFLOWS = 50;
const site = parseSiteAuthorization({ '*': { '*': { default: 'READ', limit: 'ALL' } } });
const ua = parseUserAuthorization(Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`u${i}`, ['READ', 'pause']])));
const wa = parseWorkflowAuthorization(
  Object.fromEntries(
    Array.from({ length: WORKFLOWS }, (_, w) => [`wf${w}`, Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`u${i * 7}`, ['CONTROL', '!stop']]))]),
  ),
  { test: isValidWorkflowName, text: NAME_RULE },
);

function measure(label, perWorkflow, cached) {
  const authorizer = new Authorizer(site, { cacheSize: cached ? 50_000 : 1 });
  authorizer.setUserAuthorization('owner', ua, wa);
  const users = cached ? 1_000 : USERS;
  const started = performance.now();
  for (let i = 0; i < DECISIONS; i++) {
    const request = { owner: 'owner', ownerGroups: [], user: `u${i % users}`, userGroups: ['g1', 'g2'] };
    authorizer.permitted(request, perWorkflow ? `wf${i % WORKFLOWS}` : undefined);
  }
  const ms = performance.now() - started;
  console.log(`${label.padEnd(24)} ${((DECISIONS / ms) * 1000).toFixed(0).padStart(9)} decisions/s  ${((ms * 1000) / DECISIONS).toFixed(2)} µs each`);
}

measure('server-wide, uncached', false, false);
measure('per workflow, uncached', true, false);
measure('server-wide, cached', false, true);
measure('per workflow, cached', true, true);
