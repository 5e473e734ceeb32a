/**
 * `GET /user/O/workflows/<id>/job-file?task=<cycle/name>&file=job.out|job.err[&submit=N]`: one
 * job's whole stdout or stderr as a download, for logs larger than the job log viewer shows. It
 * needs `read` on the workflow, decided where every other decision is; a workflow the visitor may
 * not read is answered exactly as one that does not exist.
 */
import { createReadStream } from 'node:fs';
import { Router } from 'express';
import { isValidWorkflowName } from '../config/names.js';
import { EngineUsageError, type JobFile, type JobLogFile, type WorkflowEngine } from '../scheduler/index.js';
import type { DecisionMaker } from './decisions.js';

const FILES: readonly JobLogFile[] = ['job.out', 'job.err'];

export function jobFileRoute(engine: WorkflowEngine, decisions: DecisionMaker): Router {
  const router = Router();
  router.get('/workflows/:id/job-file', (req, res) => {
    const workflow = req.params.id;
    const noWorkflow = () => res.status(404).json({ error: `no workflow "${workflow}"` });
    if (!isValidWorkflowName(workflow)) return noWorkflow();
    if (!decisions.act(res.locals.identity, [{ operation: 'read', workflows: [workflow] }], 'job file download').allowed) return noWorkflow();

    const { task, file, submit } = req.query;
    const fileName = FILES.find((f) => f === file);
    if (typeof task !== 'string' || task === '') return res.status(400).json({ error: 'task: give the task as cycle/name' });
    if (!fileName) return res.status(400).json({ error: 'file: must be job.out or job.err' });
    if (submit !== undefined && (typeof submit !== 'string' || !/^[1-9]\d{0,8}$/.test(submit))) {
      return res.status(400).json({ error: 'submit: must be a job number (1, 2, …)' });
    }

    let job: JobFile;
    try {
      job = engine.jobFile({ workflow, task, file: fileName, ...(submit ? { submitNum: Number(submit) } : {}) });
    } catch (err) {
      if (err instanceof EngineUsageError && err.code === 'NOT_FOUND') return res.status(404).json({ error: err.message });
      throw err;
    }
    // The file as it is now: a running job's log keeps growing, and Content-Length must hold.
    res.attachment(`${workflow}.${task.replace('/', '.')}.${job.submitNum}.${fileName}`);
    res.type('text/plain; charset=utf-8');
    res.setHeader('Content-Length', String(job.size));
    if (job.size === 0) return res.end();
    const stream = createReadStream(job.path, { start: 0, end: job.size - 1 });
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  });
  return router;
}
