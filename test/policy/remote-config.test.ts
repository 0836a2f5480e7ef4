// Remote mode without any gateway: configuration errors, and what a caller gets when nothing
// listens at the gateway's port — fail closed (GatewayError, the guarded body never runs) or
// fail open (ALLOW, recorded in the agent's local store with its reason, queued for the gateway).
import { createServer } from 'node:net';
import { beforeAll, expect, it } from 'vitest';
import { GatewayError, ProvablyConfigError } from '../../src/errors/index.js';
import { ProvablyGateway } from '../../src/policy/index.js';
import { describeEachBackend, useTestStore } from '../helpers/backends.js';
import { decisionRows } from './helpers.js';

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

it('configuration errors name the setting', () => {
  const make = (o: ConstructorParameters<typeof ProvablyGateway>[0]) => () => new ProvablyGateway(o);
  const base = { agentId: 'a', apiKey: 'pvk_x_y' };
  expect(make({ ...base, gatewayUrl: 'not a url' })).toThrow(ProvablyConfigError);
  expect(make({ ...base, gatewayUrl: 'ftp://127.0.0.1:1' })).toThrow(/http: or https:/);
  expect(make({ ...base, gatewayUrl: 'http://u:p@127.0.0.1:1' })).toThrow(/credentials/);
  expect(make({ ...base, gatewayUrl: 'http://127.0.0.1:1/v1' })).toThrow(/origin/);
  expect(make({ agentId: 'a', gatewayUrl: 'http://127.0.0.1:1', apiKey: ' ' })).toThrow(/apiKey|API key/);
  expect(
    make({ ...base, gatewayUrl: 'http://127.0.0.1:1', policy: 'permit(principal,action,resource);' }),
  ).toThrow(/either/);
  expect(
    make({ ...base, gatewayUrl: 'http://127.0.0.1:1', onGatewayError: 'maybe' as unknown as 'open' }),
  ).toThrow(/onGatewayError/);
  expect(make({ ...base, gatewayUrl: 'http://127.0.0.1:1', timeoutMs: 0 })).toThrow(/timeoutMs/);
  expect(make({ ...base, gatewayUrl: 'http://127.0.0.1:1', longPollSeconds: 56 })).toThrow(/longPollSeconds/);
  const g = new ProvablyGateway({ ...base, gatewayUrl: 'http://127.0.0.1:1' });
  expect(g.gatewayUrl).toBe('http://127.0.0.1:1/');
  expect(g.engine).toBeUndefined();
  return g.close();
});

it('environment: PROVABLY_GATEWAY_URL + PROVABLY_API_KEY select remote mode; both modes at once is refused', async () => {
  const saved = { ...process.env };
  try {
    process.env.PROVABLY_GATEWAY_URL = 'http://127.0.0.1:9';
    process.env.PROVABLY_API_KEY = 'pvk_abcdefgh_secret';
    process.env.PROVABLY_AGENT_ID = 'env-agent';
    process.env.PROVABLY_GATEWAY_ON_ERROR = 'sideways';
    expect(() => new ProvablyGateway()).toThrow(/onGatewayError/);
    process.env.PROVABLY_GATEWAY_ON_ERROR = 'OPEN';
    const g = new ProvablyGateway();
    expect(g.gatewayUrl).toBe('http://127.0.0.1:9/');
    expect(g.agentId).toBe('env-agent');
    await g.close();
    process.env.PROVABLY_POLICY_FILE = '/nonexistent.cedar';
    expect(() => new ProvablyGateway()).toThrow(/both PROVABLY_GATEWAY_URL/);
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});

describeEachBackend('remote mode, nothing listening', (backend) => {
  const store = useTestStore(backend);
  let url: string;
  beforeAll(async () => {
    url = `http://127.0.0.1:${await closedPort()}`;
  });

  it('closed (default): GatewayError naming the URL, the guarded body never runs, nothing recorded', async () => {
    const gateway = new ProvablyGateway({
      agentId: 'billing-agent',
      gatewayUrl: url,
      apiKey: 'pvk_k_s',
      store: store(),
    });
    let ran = 0;
    const pay = gateway.guard('payments.initiate', (amount: number) => {
      ran++;
      return amount;
    });
    const e = await pay(5).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(GatewayError);
    expect((e as GatewayError).url).toBe(`${url}/`);
    expect((e as GatewayError).message).toMatch(/unreachable/);
    await expect(gateway.execute('payments.initiate', { amount: 5 })).rejects.toBeInstanceOf(GatewayError);
    expect(ran).toBe(0);
    expect(await decisionRows(store())).toHaveLength(0);
    await gateway.close();
  });

  it('awaiting an escalation with the gateway away from the start gives up after timeoutMs (its expiry is unknown)', async () => {
    const gateway = new ProvablyGateway({
      agentId: 'billing-agent',
      gatewayUrl: url,
      apiKey: 'pvk_k_s',
      onGatewayError: 'open', // never applies to an escalation
      timeoutMs: 800,
      store: store(),
    });
    const e = await gateway.awaitEscalation('00000000-0000-4000-8000-000000000001').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GatewayError);
    expect((e as GatewayError).message).toMatch(/outcome is unknown/);
    await gateway.close();
  });

  it('open: ALLOW with the fail-open reason, recorded locally as a leaf, the body runs, its outcome recorded locally', async () => {
    const gateway = new ProvablyGateway({
      agentId: 'billing-agent',
      gatewayUrl: url,
      apiKey: 'pvk_k_s',
      onGatewayError: 'open',
      store: store(),
      tenant: 'fail-open-org',
    });
    const r = await gateway.execute('payments.initiate', { amount: 5, currency: 'GBP' });
    expect(r).toMatchObject({
      decision: 'ALLOW',
      reason: 'gateway unreachable (fail-open)',
      policyVersion: 'none',
    });
    const pay = gateway.guard('payments.initiate', async (amount: number) => amount * 2);
    expect(await pay(21)).toBe(42);
    await gateway.flush();
    const rows = await decisionRows(store(), 'd.org_id = $1', ['fail-open-org']);
    const decisions = rows.filter((x) => x.event_type === 'decision');
    expect(decisions).toHaveLength(2);
    for (const d of decisions) {
      expect(d).toMatchObject({
        decision: 'ALLOW',
        reason: 'gateway unreachable (fail-open)',
        agent_id: 'billing-agent',
      });
      expect(d.leaf_index).not.toBeNull();
    }
    expect(decisions[0]?.id).toBe(r.eventId);
    const outcome = rows.find((x) => x.event_type === 'outcome');
    expect(outcome).toMatchObject({ parent_id: decisions[1]?.id });
    await gateway.close();
  });
});
