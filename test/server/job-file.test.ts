/**
 * A job log larger than the viewer shows: jobLog says how much of how much it returned, and the
 * whole file downloads from /user/O/workflows/<id>/job-file behind the workflow's `read`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, waitFor, type TestServer, type Who } from './helpers.js';

const SIZE = 2_200_000;
// 37-byte lines: about 59,000 of them, 2.1 MiB in all.
const FLOW = `
tasks:
  talk:
    script: yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c ${SIZE}
`;
const SITE = { '*': { '*': { limit: ['READ', 'CONTROL'] } } };

describe('a whole job file', () => {
  let server: TestServer;
  const owner: Who = { user: 'alice', xsrf: 'x' };
  const bob: Who = { user: 'bob' };
  const noor: Who = { user: 'noor' };
  const stranger: Who = { user: 'zed' };
  const fileUrl = (workflow: string, query: string) => `${server.base}workflows/${workflow}/job-file?${query}`;
  let jobOut: Buffer;

  beforeAll(async () => {
    server = await startTestServer({
      owner: 'alice',
      site: SITE,
      ua: { bob: ['READ'], noor: ['READ'] },
      // noor reads every workflow but this one.
      wa: { chatty: { noor: ['!READ'] } },
      flows: { chatty: FLOW, quiet: FLOW },
    });
    await server.graphql(owner, 'mutation { play(workflows: ["chatty"]) { ok } }').expect(200);
    await waitFor('the task to succeed', async () => {
      const r = await server.graphql(owner, '{ workflow(id: "chatty") { tasks { state } } }').expect(200);
      return r.body.data.workflow.tasks[0]?.state === 'succeeded';
    });
    jobOut = readFileSync(join(server.dataDir, 'users', 'alice', (await jobLog(owner, 10)).path));
  }, 60_000);
  afterAll(async () => server?.close());

  async function jobLog(who: Who, tail: number) {
    const res = await server
      .graphql(who, 'query ($n: Int) { jobLog(workflow: "chatty", task: "1/talk", tail: $n) { content path size shown truncated } }', { n: tail })
      .expect(200);
    return res.body.data.jobLog as { content: string; path: string; size: number; shown: number; truncated: boolean };
  }

  it('jobLog says how much of the file it returned: a million lines of 2.1 MB are 1 MiB of it', async () => {
    const log = await jobLog(owner, 1_000_000);
    expect(log).toMatchObject({ size: SIZE, shown: 1 << 20, truncated: true });
    expect(Buffer.byteLength(log.content)).toBe(log.shown);
    const small = await jobLog(owner, 2);
    // The last line is cut short by head -c: one whole line and that part.
    expect(small).toMatchObject({ size: SIZE, truncated: true, shown: 37 + (SIZE % 37) });
  });

  it('the owner downloads the whole file as an attachment', async () => {
    expect(jobOut.length).toBe(SIZE);
    const res = await server.get(owner, fileUrl('chatty', 'task=1/talk&file=job.out')).buffer(true).expect(200);
    expect(res.headers['content-disposition']).toBe('attachment; filename=chatty.1.talk.1.job.out');
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(Buffer.from(res.text).equals(jobOut)).toBe(true);
    const first = await server.get(owner, fileUrl('chatty', 'task=1/talk&file=job.out&submit=1')).expect(200);
    expect(first.text.length).toBe(SIZE);
  });

  it('a reader downloads it too; without read on the workflow it is answered as a workflow that does not exist', async () => {
    expect((await server.get(bob, fileUrl('chatty', 'task=1/talk&file=job.out')).expect(200)).text.length).toBe(SIZE);
    const ghost = (await server.get(noor, fileUrl('ghost', 'task=1/talk&file=job.out')).expect(404)).body;
    expect(ghost).toEqual({ error: 'no workflow "ghost"' });
    const hidden = await server.get(noor, fileUrl('chatty', 'task=1/talk&file=job.out')).expect(404);
    expect(hidden.body).toEqual({ error: 'no workflow "chatty"' });
    expect(hidden.text).not.toContain('0123456789');
    await server.get(stranger, fileUrl('chatty', 'task=1/talk&file=job.out')).expect(404);
    // noor may read the other workflow: the refusal above is that workflow's sharing.
    await server.get(noor, fileUrl('quiet', 'task=1/talk&file=job.out')).expect(404, { error: 'task 1/talk has no job yet' });
  });

  it('names no path of its own: other files, other tasks and other workflows are refused', async () => {
    const bad = async (workflow: string, query: string, status: number) => (await server.get(owner, fileUrl(workflow, query)).expect(status)).body.error as string;
    expect(await bad('chatty', 'task=1/talk&file=../../flow.yaml', 400)).toBe('file: must be job.out or job.err');
    expect(await bad('chatty', 'task=1/talk&file=job.status', 400)).toBe('file: must be job.out or job.err');
    expect(await bad('chatty', `task=${encodeURIComponent('1/../../../flow.yaml')}&file=job.out`, 404)).toContain('no task');
    expect(await bad('chatty', `task=${encodeURIComponent('../..')}&file=job.out`, 404)).toContain('no task');
    expect(await bad('%2e%2e', 'task=1/talk&file=job.out', 404)).toBe('no workflow ".."');
    expect(await bad('chatty', 'task=1/talk&file=job.out&submit=0', 400)).toContain('submit');
    expect(await bad('chatty', 'task=1/talk&file=job.out&submit=..%2f1', 400)).toContain('submit');
    expect(await bad('chatty', 'task=1/talk&file=job.out&submit=2', 404)).toContain('has no job 2');
    expect(await bad('chatty', 'file=job.out', 400)).toContain('task');
  });
});
