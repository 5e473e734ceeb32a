import { Router, type Request, type Response } from 'express';
import type { HubContext } from '../context.js';
import type { ServerStatus, StartStep } from '../../spawner/index.js';
import { accessOf, apiError, nameParam, requireScope } from './respond.js';

/**
 * One server-sent event, JupyterHub's shape (`progress`, `message`, and `ready`/`failed`, `url`),
 * plus the step it reports and, for a failed start, the `reason` alone (JupyterHub's message
 * prefixes it), so that pages need not take it out of the message.
 */
function send(res: Response, event: Record<string, unknown>): void {
  res.write(`data: ${JSON.stringify(event)}\n\n`);
}

/** What each step of a start is shown as; `progress` is JupyterHub's percentage. */
const STEP_EVENTS: Readonly<Record<StartStep, { progress: number; message: string }>> = {
  requested: { progress: 10, message: 'Server requested' },
  launched: { progress: 40, message: 'Workflow server process started, loading' },
  listening: { progress: 80, message: 'Workflow server is listening, checking that it answers' },
};

/**
 * GET /users/NAME/server/progress (and /servers/NAME/progress with the default server ""): an
 * event stream of a start, as JupyterHub's. A running server answers one `ready` event; a start
 * that failed answers one `failed` event; a start under way sends its step so far, each later
 * step the moment the spawner reaches it, and then `ready` or `failed` (with the `reason`).
 */
export function progressApi(ctx: HubContext): Router {
  const router = Router();

  const stream = (req: Request, res: Response) => {
    const name = nameParam(req, res);
    if (!name || !requireScope(res, accessOf(ctx.permissions, req), ['read:servers'], { user: name })) return;
    const server = req.params.server;
    if (server !== undefined && server !== '') return apiError(res, 400, 'Named servers are not enabled.');
    const url = `/user/${name}/`;
    const ready = () => ({ progress: 100, step: 'ready', ready: true, message: `Server ready at ${url}`, html_message: `Server ready at <a href="${url}">${url}</a>`, url });
    const failed = () => {
      const reason = ctx.servers.lastFailure(name) ?? 'the server stopped';
      return { progress: 100, step: 'failed', failed: true, message: `Spawn failed: ${reason}`, reason };
    };
    const status = ctx.servers.status(name);
    if (status !== 'running' && status !== 'starting' && ctx.servers.lastFailure(name) === undefined) {
      return apiError(res, 400, `${name}'s server is not starting`);
    }
    res.status(200).set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
    if (status === 'running') {
      send(res, ready());
      res.end();
      return;
    }
    if (status !== 'starting') {
      send(res, failed());
      res.end();
      return;
    }
    const spawner = ctx.servers.spawner;
    const sendStep = (step: StartStep) => send(res, { ...STEP_EVENTS[step], step });
    sendStep(spawner.startStep(name) ?? 'requested');
    const onStep = (owner: string, step: StartStep) => {
      if (owner === name) sendStep(step);
    };
    const stopListening = () => {
      spawner.off('step', onStep);
      spawner.off('change', onChange);
    };
    const onChange = (owner: string, state: ServerStatus) => {
      if (owner !== name || state === 'starting') return;
      stopListening();
      // The reason of a failed start is recorded just after the state changes.
      setImmediate(() => {
        send(res, state === 'running' ? ready() : failed());
        res.end();
      });
    };
    spawner.on('step', onStep);
    spawner.on('change', onChange);
    req.on('close', stopListening);
  };

  // `/servers//progress`, with an empty name, is the default server's, as in JupyterHub.
  router.get(['/users/:name/server/progress', '/users/:name/servers//progress', '/users/:name/servers/:server/progress'], stream);
  return router;
}
