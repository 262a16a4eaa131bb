// The backend route against a running `slo-engine serve` (started by tests/unit/test_api_backstage.py, which passes
// its URL and a team key in the environment); skipped when run on its own.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { SloEngineClient, createSloEngineHandler } from '../src/index.js';

const { SLO_ENGINE_URL, SLO_ENGINE_KEY_ID, SLO_ENGINE_SECRET, SLO_ENGINE_SERVICE } = process.env;
const live = SLO_ENGINE_URL ? test : test.skip;

async function withRoute(client, run) {
  const server = createServer(createSloEngineHandler({ client, logger: { error() {} } }));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await run(`http://127.0.0.1:${server.address().port}`);
  } finally {
    server.close();
  }
}

const client = (secret = SLO_ENGINE_SECRET) =>
  new SloEngineClient({
    baseUrl: SLO_ENGINE_URL ?? 'http://127.0.0.1:1',
    region: 'local',
    credentials: { accessKeyId: SLO_ENGINE_KEY_ID, secretAccessKey: secret },
  });

live('shows a component\'s recommendations waiting for approval, fetched with a signed request', async () => {
  await withRoute(client(), async (base) => {
    const response = await fetch(`${base}/components/${SLO_ENGINE_SERVICE}/slo-state`);
    assert.equal(response.status, 200);
    const state = await response.json();
    assert.equal(state.service, SLO_ENGINE_SERVICE);
    assert.equal(state.state, 'awaiting_approval');
    assert.ok(state.pending.length >= 1 && state.pending.every((p) => p.target.endsWith('%')));
  });
});

live('an unknown component is 404', async () => {
  await withRoute(client(), async (base) => {
    assert.equal((await fetch(`${base}/components/no-such-service/slo-state`)).status, 404);
  });
});

live('a wrong secret is refused by the engine and reported as a bad gateway', async () => {
  await withRoute(client('not-the-right-secret-at-all'), async (base) => {
    const response = await fetch(`${base}/components/${SLO_ENGINE_SERVICE}/slo-state`);
    assert.equal(response.status, 502);
    assert.match((await response.json()).message, /403/);
  });
});
