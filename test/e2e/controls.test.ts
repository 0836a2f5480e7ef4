/**
 * End to end: the runtime controls act on the running preload.
 * - PROVABLY_DISABLED=1: the preload is a no-op (nothing patched: an untrusted scoped call goes
 *   through, nothing recorded, status says not started).
 * - PROVABLY_ENABLED=0: governance starts off, enable() turns it on.
 * - disable(): scoped calls pass through untouched — no trust check, no row.
 * - setInterceptBodyHook: the caller sees the hooked body; the row keeps the wire body; a hook
 *   that throws is contained (original body, logged, counted), the agent carries on.
 * - setInterceptUrlAllowlist: narrows what is RECORDED; every governed call is still trust-checked.
 */
import { expect, it } from 'vitest';
import { JSON_BODY } from '../helpers/counting-server.js';
import { findCode, runAgent, type Settled, useAgentServers } from './child.js';
import { bodyText, describeE2E, useE2EStores } from './stores.js';

type Call = Settled<{ status: number; body: string }>;
const JSON_TEXT = JSON.stringify(JSON_BODY);
const OK: Call = { ok: true, value: { status: 200, body: JSON_TEXT } };

function expectBlocked(c: unknown): void {
  const call = c as Call;
  expect(call.ok, JSON.stringify(call)).toBe(false);
  if (!call.ok) expect(findCode(call.error, 'PROVABLY_BLOCKED')).toBeDefined();
}

const servers = useAgentServers();

describeE2E('runtime controls with the real preload', (backend) => {
  const stores = useE2EStores(backend);

  it('PROVABLY_DISABLED=1: the preload is a no-op (untrusted scoped call goes through, nothing recorded)', async () => {
    const store = await stores.fresh();
    await store.trust(`${servers.trusted.url}/json`);
    const before = servers.untrusted.log.length;
    const run = await runAgent('controls.mjs', {
      env: store.env({ ...servers.env, PROVABLY_DISABLED: '1' }),
      args: ['env-disabled'],
    });
    const r = run.result as Record<string, unknown>;
    expect(r.untrusted).toEqual(OK);
    expect(r.trusted).toEqual(OK);
    // Nothing is installed, so not even the body hook applies.
    expect(r.hooked).toEqual(OK);
    expect(r.status).toMatchObject({ started: false, blocked: 0, recorded: 0 });
    expect(servers.untrusted.log.slice(before).map((l) => l.path)).toEqual(['/json?step=env-disabled']);
    expect(await store.rows()).toEqual([]);
    expect(run.stderr).toBe('');
  });

  it('PROVABLY_ENABLED=0: starts disabled (calls pass through unrecorded), enable() turns governance on', async () => {
    const store = await stores.fresh();
    await store.trust(`${servers.trusted.url}/json`);
    const before = servers.untrusted.log.length;
    const run = await runAgent('controls.mjs', {
      env: store.env({ ...servers.env, PROVABLY_ENABLED: '0' }),
      args: ['start-disabled'],
    });
    const r = run.result as Record<string, unknown>;
    expect(r.enabledAtStart).toBe(false);
    expect(r.untrustedBefore).toEqual(OK);
    expect(r.trustedBefore).toEqual(OK);
    expect(r.enabledAfter).toBe(true);
    expectBlocked(r.untrustedAfter);
    expect(r.trustedAfter).toEqual(OK);
    expect(r.status).toMatchObject({ started: true, enabled: true, blocked: 1, recorded: 1 });
    expect(servers.untrusted.log.slice(before).map((l) => l.path)).toEqual(['/json?step=before-enable']);
    const rows = await store.rows();
    expect(rows.map((row) => [row.actionName, row.url])).toEqual([
      ['trusted after enable', `${servers.trusted.url}/json?step=after-enable`],
    ]);
  });

  it('disable()/enable(), body hooks (incl. a throwing one) and the record allowlist, in one running agent', async () => {
    const store = await stores.fresh();
    await store.trust(`${servers.trusted.url}/json`, `${servers.trusted.url}/echo`);
    const before = servers.untrusted.log.length;
    const run = await runAgent('controls.mjs', {
      env: store.env(servers.env),
      args: ['runtime'],
    });
    const r = run.result as Record<string, unknown>;
    expect(r.enabledAtStart).toBe(true);
    expect(r.baseline).toEqual(OK);

    // disable(): no trust check, no row; enable() restores both.
    expect(r.enabledWhileDisabled).toBe(false);
    expect(r.disabledTrusted).toEqual(OK);
    expect(r.disabledUntrusted).toEqual(OK);
    expectBlocked(r.reenabledUntrusted);
    expect(servers.untrusted.log.slice(before).map((l) => l.path)).toEqual(['/json?step=disabled']);

    // Body hook: the caller's copy only, and only for calls with an intercept index.
    expect(r.hookIndexed).toEqual({ ok: true, value: { status: 200, body: `hooked:5:${JSON_TEXT}` } });
    expect(r.hookKeeps).toEqual(OK);
    expect(r.hookNoIndex).toEqual(OK);
    expect(r.hookAxios).toEqual({ ok: true, value: { status: 200, body: `hooked:5:${JSON_TEXT}` } });
    expect(r.hookCalls).toEqual([
      { index: 5, bytes: JSON_TEXT.length, isUint8Array: true },
      { index: 6, bytes: JSON_TEXT.length, isUint8Array: true },
      { index: 5, bytes: JSON_TEXT.length, isUint8Array: true },
    ]);
    // A throwing hook: the original body, the agent carries on, the failure is logged and counted.
    expect(r.hookThrows).toEqual(OK);
    expect(r.hookThrowsAgain).toEqual(OK);
    expect(run.stderr).toContain('the intercept body hook threw; the original body was delivered');
    expect(run.stderr.match(/body hook threw/g)).toHaveLength(1); // logged once, not per call

    // Allowlist: narrows recording only; untrusted stays blocked; an invalid entry is refused
    // without changing the list in force.
    expect(r.allowlisted).toEqual(OK);
    expect(r.notAllowlisted).toMatchObject({ ok: true, value: { status: 200 } });
    expectBlocked(r.allowlistUntrusted);
    expect(r.invalidAllowlist).toEqual({ name: 'ProvablyUrlError', code: 'PROVABLY_INVALID_URL' });
    expect(r.stillAllowlisted).toMatchObject({ ok: true, value: { status: 200 } });
    expect(r.allowlistCleared).toMatchObject({ ok: true, value: { status: 200 } });
    expect(servers.untrusted.log.slice(before)).toHaveLength(1);

    expect(r.status).toMatchObject({ started: true, enabled: true, blocked: 2, internalErrors: 2 });

    const rows = await store.rows();
    expect(rows.map((row) => row.actionName)).toEqual([
      'baseline',
      'hook index 5',
      'hook index 6',
      'hook no index',
      'hook index 5 axios',
      'hook throws',
      'hook throws again',
      'allowlisted',
      'allowlist cleared',
    ]);
    // Rows keep the wire body whatever the hook made of the caller's copy.
    for (const row of rows.filter((x) => x.actionName.startsWith('hook'))) {
      expect(bodyText(row), row.actionName).toBe(JSON_TEXT);
    }
    expect(rows.find((x) => x.actionName === 'hook index 5')?.interceptIndex).toBe(5);
    expect(r.status).toMatchObject({ recorded: rows.length });
  });
});
