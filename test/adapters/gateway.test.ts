/**
 * Adapters behind a real local ProvablyGateway, in process, on both stores: the policy reads the
 * tool's arguments under `context.params.input`; a nested governed call of the same tool is
 * decided once; a streaming tool is decided once, each step runs in a scope, and its outcome is
 * recorded when the iterable is handed back (the documented limit), not when it is drained.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { governTool } from '../../src/adapters/index.js';
import { ProvablyGateway } from '../../src/policy/index.js';
import { activeScope } from '../../src/scope/index.js';
import { describeEachBackend, useTestStore } from '../helpers/backends.js';
import { decisionRows } from '../policy/helpers.js';

const POLICY = `
@id("small") @reason("small amounts are fine")
permit(principal == Agent::"travel-agent", action, resource) when { context.params.input.amount <= 100 };
`;

describeEachBackend('adapters behind a policy gateway', (backend) => {
  const store = useTestStore(backend);
  const org = 'adapters-gw';
  let gateway: ProvablyGateway;
  beforeAll(() => {
    gateway = new ProvablyGateway({
      agentId: 'travel-agent',
      policy: POLICY,
      store: store(),
      tenant: org,
      mode: 'enforce',
    });
  });
  afterAll(() => gateway?.close());

  // Outcome events are written in the background: flush() waits for those already recorded.
  const decisions = async (action: string) => {
    await gateway.flush();
    const rows = await decisionRows(store(), 'd.org_id = $1 AND d.action_name = $2', [org, action]);
    return rows.map((r) => ({ type: r.event_type, decision: r.decision, params: r.params }));
  };

  it('the policy reads the tool arguments as input; a refusal is the BLOCKED-by-policy text; the body never runs', async () => {
    let ran = 0;
    const pay = governTool(
      'pay',
      async (input: { amount: number }, _extras: unknown) => {
        ran++;
        return `paid ${input.amount}`;
      },
      { gateway },
    );
    await expect(
      pay({ amount: 20 }, { abortSignal: 'not JSON-able extras are not sent to the policy' }),
    ).resolves.toBe('paid 20');
    await expect(pay({ amount: 500 }, {})).resolves.toMatch(/^BLOCKED by policy: /);
    expect(ran).toBe(1);
    expect(await decisions('pay')).toEqual([
      { type: 'decision', decision: 'ALLOW', params: { input: { amount: 20 } } },
      { type: 'outcome', decision: null, params: { input: { amount: 20 } } },
      { type: 'decision', decision: 'BLOCK', params: { input: { amount: 500 } } },
    ]);
  });

  it('nested governed calls of the same tool are decided once', async () => {
    const inner = governTool('lookup', async (_input: { amount: number }) => activeScope()?.actionName, {
      gateway,
    });
    const outer = governTool('lookup', async (input: { amount: number }) => inner(input), { gateway });
    await expect(outer({ amount: 1 })).resolves.toBe('lookup');
    expect((await decisions('lookup')).filter((d) => d.type === 'decision')).toHaveLength(1);
  });

  it('a streaming tool: one decision, each step in the scope, the outcome recorded before the stream is drained', async () => {
    const stepsSeen: unknown[] = [];
    const stream = governTool(
      'search',
      async function* (_input: { amount: number }) {
        stepsSeen.push(activeScope()?.actionName);
        yield 'first';
        stepsSeen.push(activeScope()?.actionName);
        yield 'second';
      },
      { gateway },
    );
    const iterable = (await stream({ amount: 5 })) as AsyncIterable<string>;
    // Handed back, not yet drained: decided and its outcome already recorded (flush() waits only
    // for outcomes already taken, so one taken at drain time would be missing here).
    expect((await decisions('search')).map((d) => d.type)).toEqual(['decision', 'outcome']);
    const out: string[] = [];
    for await (const v of iterable) out.push(v);
    expect(out).toEqual(['first', 'second']);
    expect(stepsSeen).toEqual(['search', 'search']);
    expect((await decisions('search')).map((d) => d.type)).toEqual(['decision', 'outcome']);
  });
});
