// The backend route Backstage mounts: GET /components/:service/slo-state answers a component's SLO state for its
// entity page - the approved SLOs, what is waiting for approval (with target, confidence and risks) and who decided
// what. A plain (req, res) handler, so it mounts in Backstage's httpRouter (express) or any Node HTTP server.
import { SloEngineError } from './client.js';

const pct = (value) => (value == null ? null : `${(value * 100).toFixed(3).replace(/\.?0+$/, '')}%`);

export function summarize(slos) {
  const pending = slos.history.filter((h) => h.status === 'pending');
  return {
    service: slos.service,
    state: pending.length ? 'awaiting_approval' : slos.approved.length ? 'approved' : 'no_slo',
    approved: slos.approved.map((r) => ({
      id: r.id,
      sli: r.sli,
      target: pct(r.target),
      threshold_ms: r.threshold_ms,
      window_days: r.window_days,
      decided_by: r.decided_by,
    })),
    pending: pending.map((h) => ({ id: h.id, sli: h.sli, target: pct(h.target), proposed_at: h.created_at })),
    history: slos.history
      .filter((h) => h.status !== 'pending')
      .slice(0, 10)
      .map((h) => ({ id: h.id, sli: h.sli, target: pct(h.target), status: h.status, decided_by: h.decided_by })),
  };
}

const SERVICE = /^\/components\/([A-Za-z0-9][A-Za-z0-9._-]{0,199})\/slo-state$/;

export function createSloEngineHandler({ client, logger = console }) {
  return async function sloEngineHandler(req, res, next) {
    const match = SERVICE.exec(new URL(req.url, 'http://backstage').pathname);
    if (req.method !== 'GET' || !match) {
      if (next) return next();
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ message: 'not found' }));
    }
    try {
      const state = summarize(await client.serviceSlos(match[1]));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(state));
    } catch (error) {
      const status = error instanceof SloEngineError && error.status === 404 ? 404 : 502;
      if (status === 502) logger.error?.(`slo-engine request failed: ${error.message}`);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: error.message }));
    }
  };
}
