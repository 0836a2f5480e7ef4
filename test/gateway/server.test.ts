// The gateway as an operator runs it (`provably gateway`, a child process) on each store: the
// four decision paths over REST, fail-closed policy errors, policy versions, roles, tenant
// isolation, racing decisions, and what is (never) kept of an API key.
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type Checkpoint,
  leafHash,
  loadSigner,
  rootFromInclusionProof,
  trustedKeysOf,
  verifyCheckpoint,
} from '../../src/ledger/index.js';
import { canonicalJson } from '../../src/policy/params.js';
import { describeE2E, type E2EStore, useE2EStores } from '../e2e/stores.js';
import { runCli } from '../helpers/cli.js';
import { type GatewayChild, type Json, startGateway } from './child.js';
import { setUpTenant, type TenantKeys } from './fixtures.js';

describeE2E('gateway server', (backend) => {
  const stores = useE2EStores(backend);
  let store: E2EStore;
  let gw: GatewayChild;
  let a: TenantKeys;
  let b: TenantKeys;
  let none: TenantKeys;

  beforeAll(async () => {
    store = await stores.fresh();
    await store.withStore(async (s) => {
      a = await setUpTenant(s, `ta-${backend}`);
      b = await setUpTenant(s, `tb-${backend}`);
      none = await setUpTenant(s, `tn-${backend}`, null);
    });
    gw = await startGateway(store.env());
  }, 120_000);
  afterAll(async () => {
    if (gw) expect(await gw.stop()).toBe(0);
  });

  const execute = (key: string, body: Json) => gw.call<Json>('POST', '/v1/execute', { key, body });
  const pendingFor = async (key: string, match: (e: Json) => boolean): Promise<Json> => {
    const end = Date.now() + 15_000;
    for (;;) {
      const r = await gw.call<Json>('GET', '/v1/escalations?status=pending&limit=1000', { key });
      const found = (r.body.escalations as Json[]).find(match);
      if (found) return found;
      if (Date.now() > end) throw new Error('no such pending escalation');
      await new Promise((res) => setTimeout(res, 50));
    }
  };

  it('ALLOW and BLOCK (a decision, 200), with the policy digest that decided and a ledger leaf', async () => {
    const allow = await execute(a.agent, { action: 'payments.initiate', params: { amount: 50 } });
    expect(allow.status).toBe(200);
    expect(allow.body).toMatchObject({
      decision: 'ALLOW',
      reason: 'small payments are fine',
      mode: 'enforce',
    });
    expect(allow.body.policyVersion).toMatch(/^sha256:[0-9a-f]{64}$/);
    const block = await execute(a.agent, {
      action: 'payments.initiate',
      params: { amount: 5, currency: 'BTC' },
    });
    expect(block.status).toBe(200);
    expect(block.body).toMatchObject({ decision: 'BLOCK', reason: 'crypto recipients are forbidden' });
    const detail = await gw.call<Json>('GET', `/v1/audit/${block.body.eventId}`, { key: a.reviewer });
    expect(detail.status).toBe(200);
    expect(detail.body.event).toMatchObject({
      decision: 'BLOCK',
      agentId: 'billing-agent',
      leafIndex: expect.any(Number),
    });
    expect(detail.body.policy.text).toContain('no-crypto');
    expect(detail.body.policy.digest).toBe(block.body.policyVersion);
  });

  it('a tenant without a policy set: BLOCK "no policy set for tenant" (default deny)', async () => {
    const r = await execute(none.agent, { action: 'tool.ok', params: {} });
    expect(r.body).toMatchObject({
      decision: 'BLOCK',
      reason: 'no policy set for tenant',
      policyVersion: 'none',
    });
  });

  it('a forbid whose condition errors is a BLOCK (Cedar would skip it and allow)', async () => {
    // refund-limit reads context.params.amount, absent here: Cedar skips the forbid, the
    // permit stands — provably must answer BLOCK.
    const r = await execute(a.anyAgent, {
      agentId: 'support-agent',
      action: 'refunds.create',
      params: { note: 'x' },
    });
    expect(r.status).toBe(200);
    expect(r.body.decision).toBe('BLOCK');
    expect(r.body.reason).toMatch(/policy error \(fail closed\).*refund-limit/);
    const ok = await execute(a.anyAgent, {
      agentId: 'support-agent',
      action: 'refunds.create',
      params: { amount: 5 },
    });
    expect(ok.body.decision).toBe('ALLOW');
  });

  it('ESCALATE approved while the agent long-polls: ALLOW with actorHumanId = the key name', async () => {
    const waiting = execute(a.agent, {
      action: 'payments.initiate',
      params: { amount: 500, tag: 'approve-me' },
      wait: 30,
    });
    const held = await pendingFor(a.reviewer, (e) => e.params.tag === 'approve-me');
    const approved = await gw.call<Json>('POST', `/v1/escalations/${held.id}/approve`, {
      key: a.reviewer,
      body: { reason: 'known customer', paramsSha256: held.paramsSha256 },
    });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'approved', reviewer: `reviewer-${a.id}` });
    const r = await waiting;
    expect(r.body).toMatchObject({
      decision: 'ALLOW',
      escalationId: held.id,
      escalationStatus: 'approved',
      actorHumanId: `reviewer-${a.id}`,
      eventId: approved.body.decisionEventId,
    });
  });

  it('ESCALATE rejected → BLOCK with the reviewer; expired → BLOCK "escalation timed out", status expired', async () => {
    const rejected = execute(a.agent, {
      action: 'payments.initiate',
      params: { amount: 700, tag: 'reject-me' },
      wait: 30,
    });
    const held = await pendingFor(a.reviewer, (e) => e.params.tag === 'reject-me');
    expect(
      (
        await gw.call('POST', `/v1/escalations/${held.id}/reject`, {
          key: a.reviewer,
          body: { reason: 'no' },
        })
      ).status,
    ).toBe(200);
    expect((await rejected).body).toMatchObject({
      decision: 'BLOCK',
      escalationStatus: 'rejected',
      reason: `rejected by reviewer-${a.id}: no`,
    });

    const expired = await execute(a.agent, { action: 'payments.expiring', params: {}, wait: 20 });
    expect(expired.body).toMatchObject({
      decision: 'BLOCK',
      escalationStatus: 'expired',
      reason: 'escalation timed out',
    });
    const row = await gw.call<Json>('GET', `/v1/escalations/${expired.body.escalationId}`, {
      key: a.reviewer,
    });
    expect(row.body).toMatchObject({ status: 'expired', reviewer: null });
    // Deciding it now is a 409 carrying the escalation as it stands.
    const late = await gw.call<Json>('POST', `/v1/escalations/${expired.body.escalationId}/approve`, {
      key: a.reviewer,
      body: { reason: 'too late' },
    });
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ error: { code: 'conflict' }, escalation: { status: 'expired' } });
  });

  it('wait 0 returns ESCALATE pending at once; an approval bound to other params is a 409 and changes nothing', async () => {
    const r = await execute(a.agent, { action: 'payments.initiate', params: { amount: 300 } });
    expect(r.body).toMatchObject({
      decision: 'ESCALATE',
      escalationStatus: 'pending',
      expiresAt: expect.any(String),
    });
    const wrong = await gw.call<Json>('POST', `/v1/escalations/${r.body.escalationId}/approve`, {
      key: a.reviewer,
      body: { reason: 'ok', paramsSha256: '0'.repeat(64) },
    });
    expect(wrong.status).toBe(409);
    expect(wrong.body.escalation.status).toBe('pending');
  });

  it('racing approve and reject on one escalation: exactly one 200, the other 409', async () => {
    for (let round = 0; round < 5; round++) {
      const r = await execute(a.agent, { action: 'payments.initiate', params: { amount: 200 + round } });
      const id = r.body.escalationId as string;
      const answers = await Promise.all([
        gw.call('POST', `/v1/escalations/${id}/approve`, { key: a.reviewer, body: { reason: 'a' } }),
        gw.call('POST', `/v1/escalations/${id}/reject`, { key: a.admin, body: { reason: 'r' } }),
      ]);
      expect(answers.map((x) => x.status).sort()).toEqual([200, 409]);
    }
  });

  it('batch decide: one answer per id, unknown and already-decided ids fail alone', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(
        (await execute(a.agent, { action: 'payments.initiate', params: { amount: 400 + i } })).body
          .escalationId,
      );
    }
    await gw.call('POST', `/v1/escalations/${ids[0]}/reject`, { key: a.reviewer, body: { reason: 'first' } });
    const r = await gw.call<Json>('POST', '/v1/escalations/decide', {
      key: a.reviewer,
      body: {
        ids: [...ids, '00000000-0000-4000-8000-000000000000', 'not-an-id'],
        decision: 'approve',
        reason: 'batch',
      },
    });
    expect(r.status).toBe(200);
    expect(r.body.results).toEqual([
      { id: ids[0], ok: false, status: 'rejected', error: { code: 'conflict', message: expect.any(String) } },
      { id: ids[1], ok: true, status: 'approved' },
      { id: ids[2], ok: true, status: 'approved' },
      {
        id: '00000000-0000-4000-8000-000000000000',
        ok: false,
        error: { code: 'not_found', message: expect.any(String) },
      },
      { id: 'not-an-id', ok: false, error: { code: 'not_found', message: expect.any(String) } },
    ]);
  });

  it('a bad policy PUT is refused with policy id, line and column, and the previous version keeps serving', async () => {
    const before = await gw.call<Json>('GET', '/v1/policies', { key: a.admin });
    const bad = await gw.call<Json>('PUT', '/v1/policies', {
      key: a.admin,
      body: {
        text: '@id("ok")\npermit(principal, action, resource);\n@id("broken")\npermit(principal, action, resource) when { nope };\n',
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('policy_invalid');
    expect(bad.body.error.problems[0]).toMatchObject({
      policyId: 'broken',
      line: 4,
      column: expect.any(Number),
    });
    const after = await gw.call<Json>('GET', '/v1/policies', { key: a.admin });
    expect(after.body.version).toBe(before.body.version);
    const still = await execute(a.agent, {
      action: 'payments.initiate',
      params: { amount: 1, currency: 'BTC' },
    });
    expect(still.body).toMatchObject({ decision: 'BLOCK', policyVersion: before.body.digest });
  });

  it('a good policy PUT serves at once (new digest, history kept); reviewers read, only admins write', async () => {
    const r = await gw.call<Json>('PUT', '/v1/policies', {
      key: b.admin,
      body: { text: '@id("all")\npermit(principal, action == Action::"tool.ok", resource);' },
    });
    expect(r.status).toBe(200);
    expect(r.body.version).toBe(2);
    const d = await execute(b.anyAgent, { agentId: 'x', action: 'payments.initiate', params: { amount: 1 } });
    expect(d.body).toMatchObject({ decision: 'BLOCK', policyVersion: r.body.digest });
    const read = await gw.call<Json>('GET', '/v1/policies', { key: b.reviewer });
    expect(read.body).toMatchObject({ version: 2, digest: r.body.digest });
    expect(read.body.history.map((h: Json) => h.version)).toEqual([2, 1]);
    expect((await gw.call('PUT', '/v1/policies', { key: b.reviewer, body: { text: 'x' } })).status).toBe(403);
  });

  it('401 for a missing, unknown, malformed or revoked key (either header); 403 for the wrong role', async () => {
    const body = { action: 'tool.ok', params: {} };
    expect((await gw.call('POST', '/v1/execute', { body })).status).toBe(401);
    expect(
      (await gw.call('POST', '/v1/execute', { body, key: `pvk_abcdefgh_${'A'.repeat(43)}` })).status,
    ).toBe(401);
    expect((await gw.call('POST', '/v1/execute', { body, key: 'nonsense' })).status).toBe(401);
    const revoked = await gw.call<Json>('GET', '/v1/escalations', { key: a.revoked });
    expect(revoked).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
    const compat = await gw.call<Json>('POST', '/v1/execute', {
      body,
      headers: { 'x-provenance-api-key': a.agent },
    });
    expect(compat.status).toBe(200);

    expect((await execute(a.reviewer, { agentId: 'x', ...body })).status).toBe(403);
    expect((await gw.call('GET', '/v1/audit', { key: a.agent })).status).toBe(403);
    expect((await gw.call('GET', '/v1/policies', { key: a.agent })).status).toBe(403);
    const esc = await execute(a.agent, { action: 'payments.initiate', params: { amount: 900 } });
    const agentApproves = await gw.call<Json>('POST', `/v1/escalations/${esc.body.escalationId}/approve`, {
      key: a.agent,
      body: { reason: 'self-approval' },
    });
    expect(agentApproves).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    // An agent-bound key cannot act as another agent.
    const other = await execute(a.agent, { agentId: 'other-agent', ...body });
    expect(other).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect((await execute(a.agent, { agentId: 'billing-agent', ...body })).status).toBe(200);
    // An unbound agent key must say which agent it acts as.
    expect((await execute(a.anyAgent, body)).status).toBe(400);
  });

  it("tenant isolation: another tenant's ids answer exactly like unknown ones, on every endpoint", async () => {
    const esc = await execute(a.agent, { action: 'payments.initiate', params: { amount: 950 } });
    const escId = esc.body.escalationId as string;
    const allowed = await execute(a.agent, { action: 'payments.initiate', params: { amount: 1 } });
    const unknown = '00000000-0000-4000-8000-00000000beef';
    const probes = (id: string, eventId: string) =>
      [
        ['GET', `/v1/escalations/${id}`, b.reviewer, undefined],
        ['GET', `/v1/escalations/${id}?wait=1`, b.admin, undefined],
        ['POST', `/v1/escalations/${id}/approve`, b.reviewer, { reason: 'x' }],
        ['POST', `/v1/escalations/${id}/reject`, b.admin, { reason: 'x' }],
        ['GET', `/v1/audit/${eventId}`, b.reviewer, undefined],
        ['GET', `/v1/audit/${eventId}/proof`, b.admin, undefined],
        ['POST', '/v1/events', b.anyAgent, { parentEventId: eventId, outcome: { ok: true }, durationMs: 1 }],
      ] as const;
    const theirs = probes(escId, allowed.body.eventId);
    const missing = probes(unknown, unknown);
    for (let i = 0; i < theirs.length; i++) {
      const [method, path, key, body] = theirs[i] as (typeof theirs)[number];
      const [m2, p2, k2, b2] = missing[i] as (typeof missing)[number];
      const x = await gw.call<Json>(method, path, { key, body });
      const y = await gw.call<Json>(m2, p2, { key: k2, body: b2 });
      expect({ path, status: x.status, code: x.body.error?.code }).toEqual({
        path,
        status: 404,
        code: 'not_found',
      });
      expect(x).toEqual(y);
    }
    const batch = await gw.call<Json>('POST', '/v1/escalations/decide', {
      key: b.reviewer,
      body: { ids: [escId], decision: 'approve', reason: 'x' },
    });
    expect(batch.body.results[0]).toMatchObject({ ok: false, error: { code: 'not_found' } });
    // Lists show only the key's tenant.
    const list = await gw.call<Json>('GET', '/v1/escalations?limit=1000', { key: b.reviewer });
    expect((list.body.escalations as Json[]).some((e) => e.id === escId)).toBe(false);
    const audit = await gw.call<Json>('GET', '/v1/audit?limit=1000', { key: b.reviewer });
    expect((audit.body.events as Json[]).some((e) => e.id === allowed.body.eventId)).toBe(false);
    // Still pending in A: nothing B did touched it.
    const mine = await gw.call<Json>('GET', `/v1/escalations/${escId}`, { key: a.reviewer });
    expect(mine.body.status).toBe('pending');
  });

  it('outcome and fail-open events are recorded as leaves of the tenant log, bound to their parent', async () => {
    const allowed = await execute(a.agent, { action: 'payments.initiate', params: { amount: 2 } });
    const outcome = await gw.call<Json>('POST', '/v1/events', {
      key: a.agent,
      body: {
        parentEventId: allowed.body.eventId,
        outcome: { ok: true, resultSha256: 'a'.repeat(64) },
        durationMs: 12.5,
      },
    });
    expect(outcome.status).toBe(201);
    const blocked = await execute(a.agent, {
      action: 'payments.initiate',
      params: { amount: 2, currency: 'BTC' },
    });
    const onBlock = await gw.call<Json>('POST', '/v1/events', {
      key: a.agent,
      body: { parentEventId: blocked.body.eventId, outcome: { ok: true }, durationMs: 1 },
    });
    expect(onBlock.status).toBe(409);
    const failOpen = await gw.call<Json>('POST', '/v1/events', {
      key: a.agent,
      body: {
        kind: 'fail_open',
        action: 'payments.initiate',
        params: { amount: 3 },
        decidedAt: new Date().toISOString(),
      },
    });
    expect(failOpen.status).toBe(201);
    const detail = await gw.call<Json>('GET', `/v1/audit/${allowed.body.eventId}`, { key: a.reviewer });
    expect(detail.body.outcomes).toEqual([
      expect.objectContaining({
        id: outcome.body.eventId,
        eventType: 'outcome',
        outcome: { status: 'ok', result_sha256: 'a'.repeat(64) },
      }),
    ]);
    const fo = await gw.call<Json>('GET', `/v1/audit/${failOpen.body.eventId}`, { key: a.reviewer });
    expect(fo.body.event).toMatchObject({
      decision: 'ALLOW',
      reason: 'gateway unreachable (fail-open)',
      policyVersion: 'agent-reported',
      agentId: 'billing-agent',
      leafIndex: expect.any(Number),
    });
  });

  it('audit: filters and cursor pages cover every event exactly once', async () => {
    for (let i = 0; i < 5; i++) {
      await execute(a.agent, { action: 'payments.initiate', params: { amount: 3 }, sessionId: 'page-sess' });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const q: string = `/v1/audit?session=page-sess&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const r = await gw.call<Json>('GET', q, { key: a.reviewer });
      expect(r.status).toBe(200);
      seen.push(...(r.body.events as Json[]).map((e) => e.id));
      cursor = r.body.nextCursor;
      if (cursor === null) break;
    }
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
    const filtered = await gw.call<Json>('GET', '/v1/audit?decision=ESCALATE&limit=1000', {
      key: a.reviewer,
    });
    expect((filtered.body.events as Json[]).every((e) => e.decision === 'ESCALATE')).toBe(true);
    expect((await gw.call('GET', '/v1/audit?since=yesterday', { key: a.reviewer })).status).toBe(400);
    expect((await gw.call('GET', '/v1/audit?cursor=%%%', { key: a.reviewer })).status).toBe(400);
  });

  it('session counts come from the store: a policy can read context.session', async () => {
    const text = `@id("three-per-session")
permit(principal, action == Action::"tool.limited", resource) when { context.session.allowed < 3 };`;
    expect((await gw.call('PUT', '/v1/policies', { key: none.admin, body: { text } })).status).toBe(200);
    const answers: string[] = [];
    for (let i = 0; i < 5; i++) {
      answers.push(
        (await execute(none.anyAgent, { agentId: 'x', action: 'tool.limited', params: {}, sessionId: 'cap' }))
          .body.decision,
      );
    }
    expect(answers).toEqual(['ALLOW', 'ALLOW', 'ALLOW', 'BLOCK', 'BLOCK']);
    const other = await execute(none.anyAgent, {
      agentId: 'x',
      action: 'tool.limited',
      params: {},
      sessionId: 'cap-2',
    });
    expect(other.body.decision).toBe('ALLOW');
    // Concurrent calls of one session on one gateway are decided one at a time: the cap holds.
    const burst = await Promise.all(
      Array.from({ length: 8 }, () =>
        execute(none.anyAgent, { agentId: 'x', action: 'tool.limited', params: {}, sessionId: 'burst' }),
      ),
    );
    expect(burst.filter((r) => r.body.decision === 'ALLOW')).toHaveLength(3);
    // Residual limit (README): a call without sessionId sees zero counts, so it is never capped.
    for (let i = 0; i < 4; i++) {
      const free = await execute(none.anyAgent, { agentId: 'x', action: 'tool.limited', params: {} });
      expect(free.body.decision).toBe('ALLOW');
    }
  });

  it("a decision's proof: its leaf under a checkpoint signed by the installation's key", async () => {
    const r = await execute(a.agent, { action: 'payments.initiate', params: { amount: 4 } });
    const proof = await gw.call<Json>('GET', `/v1/audit/${r.body.eventId}/proof`, { key: a.reviewer });
    expect(proof.status).toBe(200);
    expect(proof.body.record).toMatchObject({ id: r.body.eventId, decision: 'ALLOW', leaf_kind: 'decision' });
    const leaf = leafHash(Buffer.from(canonicalJson(proof.body.record) as string, 'utf8'));
    expect(Buffer.from(leaf).toString('hex')).toBe(proof.body.leaf_hash);
    const root = rootFromInclusionProof({
      leafIndex: proof.body.leaf_index,
      treeSize: proof.body.tree_size,
      leafHash: leaf,
      proof: (proof.body.inclusion_proof as string[]).map((h) => Buffer.from(h, 'hex')),
    });
    expect(root.ok && Buffer.from(root.root).toString('hex')).toBe(proof.body.checkpoint.root_hash);
    const signer = loadSigner({ env: store.env() });
    expect(verifyCheckpoint(proof.body.checkpoint as Checkpoint, trustedKeysOf(signer)).ok).toBe(true);
  });

  it('API keys over REST: an admin creates (key shown once) and revokes keys of its own tenant only', async () => {
    const made = await gw.call<Json>('POST', '/v1/apikeys', {
      key: a.admin,
      body: { role: 'agent', name: 'rest-made', agentId: 'billing-agent' },
    });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({
      tenant: a.id,
      role: 'agent',
      agentId: 'billing-agent',
      revokedAt: null,
    });
    expect(made.body.key).toMatch(/^pvk_[a-z0-9]{8}_/);
    const used = await execute(made.body.key, { action: 'payments.initiate', params: { amount: 1 } });
    expect(used.body.decision).toBe('ALLOW');
    const list = await gw.call<Json>('GET', '/v1/apikeys', { key: a.admin });
    expect(JSON.stringify(list.body)).not.toContain(made.body.key.slice(13));
    expect((list.body.apikeys as Json[]).every((k) => k.tenant === a.id)).toBe(true);
    // Another tenant's admin: 404 like an unknown id, and the key keeps working.
    const foreign = await gw.call<Json>('POST', `/v1/apikeys/${made.body.id}/revoke`, { key: b.admin });
    const unknown = await gw.call<Json>('POST', '/v1/apikeys/00000000-0000-4000-8000-0000000000aa/revoke', {
      key: b.admin,
    });
    expect(foreign).toEqual(unknown);
    expect(foreign.status).toBe(404);
    expect((await execute(made.body.key, { action: 'tool.ok', params: {} })).status).toBe(200);
    for (const [method, path, key] of [
      ['GET', '/v1/apikeys', a.reviewer],
      ['POST', '/v1/apikeys', a.agent],
    ] as const) {
      expect(
        (await gw.call(method, path, { key, body: method === 'POST' ? { role: 'admin' } : undefined }))
          .status,
      ).toBe(403);
    }
    expect((await gw.call('POST', '/v1/apikeys', { key: a.admin, body: { role: 'root' } })).status).toBe(400);
    expect(
      (await gw.call('POST', '/v1/apikeys', { key: a.admin, body: { role: 'reviewer', agentId: 'x' } }))
        .status,
    ).toBe(400);
    // Revoked through this gateway: refused at once (its key cache forgets the key).
    const revoked = await gw.call<Json>('POST', `/v1/apikeys/${made.body.id}/revoke`, { key: a.admin });
    expect(revoked.body.revokedAt).toEqual(expect.any(String));
    expect((await execute(made.body.key, { action: 'tool.ok', params: {} })).status).toBe(401);
  });

  it.runIf(backend === 'pglite')(
    'the CLI against the embedded store a running gateway holds fails with `locked`, naming its process',
    async () => {
      const r = await runCli(['apikeys', 'list'], store.env());
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('(locked)');
      expect(r.stderr).toContain(`process ${gw.proc.pid} `);
    },
    60_000,
  );

  it('healthz without a key; the OpenAPI document names every route', async () => {
    expect(await gw.call('GET', '/healthz')).toEqual({ status: 200, body: { ok: true, store: backend } });
    expect(await gw.call('GET', '/livez')).toEqual({ status: 200, body: { ok: true } });
    const doc = await gw.call<Json>('GET', '/openapi.json');
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths).sort()).toEqual(
      [
        '/healthz',
        '/livez',
        '/openapi.json',
        '/v1/apikeys',
        '/v1/apikeys/{id}/revoke',
        '/v1/audit',
        '/v1/audit/{eventId}',
        '/v1/audit/{eventId}/proof',
        '/v1/escalations',
        '/v1/escalations/decide',
        '/v1/escalations/{id}',
        '/v1/escalations/{id}/approve',
        '/v1/escalations/{id}/reject',
        '/v1/events',
        '/v1/execute',
        '/v1/policies',
      ].sort(),
    );
  });
  it('API keys are never stored in clear: no table holds the key or its secret', async () => {
    const keys = [a.admin, a.reviewer, a.agent, a.anyAgent, b.admin];
    // Last test: the embedded store serves one process, so the gateway stops first (SIGTERM → 0).
    expect(await gw.stop()).toBe(0);
    const dump = await store.withStore(async (s) => {
      const tables = await s.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
      );
      let text = '';
      for (const { table_name } of tables.rows) {
        const rows = await s.query<{ t: string }>(`SELECT row_to_json(x)::text AS t FROM "${table_name}" x`);
        text += rows.rows.map((r) => r.t).join('\n');
      }
      return text;
    });
    expect(dump).toContain(a.admin.slice(4, 12)); // the prefix is kept (display, revocation)
    for (const key of keys) {
      expect(dump).not.toContain(key);
      expect(dump).not.toContain(key.slice(13)); // the secret part
    }
  });
});
