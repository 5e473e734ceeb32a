/**
 * Site settings the hub pushes to a running server apply at once: the job width to the next
 * scheduling pass, the limits to the next request.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, waitFor, type TestServer } from './helpers.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const running = (s: TestServer) => s.running.engine.getWorkflow('wide')!.tasks.filter((t) => t.state === 'running').length;

describe('pushed site settings', () => {
  it('change the job width of a running server', async () => {
    server = await startTestServer({
      owner: 'alice',
      flows: { wide: 'tasks:\n  a: { script: "sleep 5" }\n  b: { script: "sleep 5" }\n  c: { script: "sleep 5" }\n' },
    });
    await server.pushSite({ workflowServer: { max_concurrent_jobs: 1 } });
    expect((await server.graphql({ user: 'alice' }, 'mutation { play(workflows: ["wide"]) { ok } }')).body).toEqual({ data: { play: [{ ok: true }] } });
    await waitFor('one job running', () => running(server!) === 1 || undefined);
    const states = server.running.engine.getWorkflow('wide')!.tasks.map((t) => t.state).sort();
    expect(states).toEqual(['running', 'waiting', 'waiting']);

    await server.pushSite({ workflowServer: { max_concurrent_jobs: 3 } });
    await waitFor('three jobs running', () => running(server!) === 3 || undefined);
  });

  it('change the GraphQL limits of a running server', async () => {
    server = await startTestServer({ owner: 'alice', flows: { wide: 'tasks:\n  a: { script: "true" }\n' } });
    const query = '{ workflows { id tasks { id state } } }';
    expect((await server.graphql({ user: 'alice' }, query)).status).toBe(200);
    await server.pushSite({ workflowServer: { limits: { query_cost: 1 } } });
    const refused = await server.graphql({ user: 'alice' }, query);
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0].extensions).toMatchObject({ code: 'COST_LIMIT', budget: 1 });
    await server.pushSite({ workflowServer: {} });
    expect((await server.graphql({ user: 'alice' }, query)).status).toBe(200);
  });
});
