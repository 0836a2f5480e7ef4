/**
 * The forged-handoff chain end to end: for the request shapes that used to forge a row (an
 * untrusted server's bytes recorded under a trusted URL), the agent turns what its tool saw into
 * a claim, `buildHandoffPayload` builds the payload, and `provably evaluate --offline` judges it.
 * It must never answer PASS about an untrusted server's bytes. A trusted call through the same
 * chain must PASS (so the chain can PASS at all: the test can fail).
 *
 * Ids listed in known-gaps.ts as `handoff:<id>` are asserted to still PASS (today's forgery).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPem } from '../../src/ledger/index.js';
import { describeE2E, useE2EStores } from '../e2e/stores.js';
import { runCli } from '../helpers/cli.js';
import { ADVERSARIAL_DIR, type Attempt, type Group, loadAttempts } from './kit/attempts.js';
import { type GroupRun, runGroup } from './kit/run-group.js';
import { type DeclaredProxy, startDeclaredProxy, startTrusted, type TrustedServer } from './kit/targets.js';
import { knownGap } from './known-gaps.js';

/** Shapes that forged a row on the code before issue #8's fixes (see the main suite's report). */
const FORGING = [
  'undici8-proxyagent-fetch',
  'undici7-proxytunnel-false',
  'axios-proxy-option',
  'http-proxy-agent',
  'agent-port-option',
  'agent-subclass-createconnection-tls',
  'request-socketpath-trusted-url',
  'request-createconnection-no-agent',
  'undici8-custom-connect',
  'undici8-client-socketpath',
];
const CONTROL = 'control-trusted-fetch';

const byId = new Map<string, Attempt>();
for (const name of ['controls', 'proxies', 'sockets'])
  for (const a of await loadAttempts(name)) byId.set(a.id, a);
const picked = [CONTROL, ...FORGING].map((id) => {
  const a = byId.get(id);
  if (a === undefined) throw new Error(`no attempt ${id}`);
  return a;
});

let trusted: TrustedServer;
let trustedTls: TrustedServer;
let proxy: DeclaredProxy;
let tmp: string;
beforeAll(async () => {
  [trusted, trustedTls, proxy] = await Promise.all([
    startTrusted(false),
    startTrusted(true),
    startDeclaredProxy(),
  ]);
  tmp = mkdtempSync(join(tmpdir(), 'provably-adv-handoff-'));
});
afterAll(async () => {
  await Promise.all([trusted?.close(), trustedTls?.close(), proxy?.close()]);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describeE2E('forged handoff chain', (backend) => {
  const stores = useE2EStores(backend);
  let run: GroupRun | undefined;
  let dir: string;
  let pubKeyFile: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    const store = await stores.fresh();
    await store.trust(
      trusted.url,
      `${trusted.url}/{rest:path}`,
      trustedTls.url,
      `${trustedTls.url}/{rest:path}`,
    );
    dir = mkdtempSync(join(tmp, `${backend}-`));
    const keyFile = join(dir, 'agent.pem');
    writeFileSync(keyFile, generateSigningKeyPem(), { mode: 0o600 });
    env = store.env({ PROVABLY_SIGNING_KEY: keyFile });
    const shown = await runCli(['keys', 'show', '--json'], env);
    expect(shown.code, shown.stderr).toBe(0);
    pubKeyFile = join(dir, 'agent.pub.pem');
    writeFileSync(pubKeyFile, JSON.parse(shown.stdout).public_key_pem);
    const group: Group = {
      name: 'handoff',
      modules: ['controls', 'proxies', 'sockets'].map((m) => join(ADVERSARIAL_DIR, 'attempts', `${m}.mjs`)),
      attempts: picked,
      scope: 'context',
    };
    run = await runGroup(
      group,
      store,
      {
        trusted: trusted.url,
        trustedTls: trustedTls.url,
        trustedCa: trustedTls.ca ?? '',
        proxy: proxy.url,
      },
      { handoffDir: dir, env: { PROVABLY_SIGNING_KEY: keyFile } },
    );
  }, 180_000);
  afterAll(async () => {
    await run?.close();
  });

  /** The evaluator's outcome for attempt `id`'s payload; undefined when no payload could be built. */
  async function evaluate(id: string): Promise<string | undefined> {
    const payload = join(dir, `${id}.json`);
    if (!existsSync(payload)) return undefined;
    const offline: NodeJS.ProcessEnv = { ...env, PROVABLY_DATA_DIR: join(dir, 'no-store') };
    delete offline.PROVABLY_DATABASE_URL;
    const res = await runCli(
      ['evaluate', payload, '--offline', '--trusted-key', pubKeyFile, '--json'],
      offline,
    );
    const outcome = JSON.parse(res.stdout).outcome as string;
    expect(res.code, res.stderr).toBe(outcome === 'PASS' ? 0 : 1);
    return outcome;
  }

  it(`control: a trusted call's claim PASSes through the same chain`, async () => {
    expect(run?.outcomes[CONTROL]?.scoped?.ok).toBe(true);
    expect(await evaluate(CONTROL)).toBe('PASS');
  });

  describe('forging shapes', () => {
    for (const id of FORGING) {
      const gap = knownGap(`handoff:${id}`, backend);
      it(`${id}${gap ? ' [known gap]' : ''}: no PASS about the untrusted server's bytes`, async () => {
        const outcome = await evaluate(id);
        if (existsSync(join(dir, `${id}.late`)))
          console.warn(`${backend} ${id}: its row was not readable when the caller had the whole body`);
        const unbuilt = join(dir, `${id}.unbuilt.json`);
        if (outcome === undefined) {
          // No payload: the claim had no record to pin to (the call was refused, nothing recorded).
          expect(existsSync(unbuilt) || run?.outcomes[id]?.scoped?.ok === false).toBe(true);
        }
        if (gap !== undefined) {
          const why = existsSync(unbuilt) ? readFileSync(unbuilt, 'utf8') : JSON.stringify(run?.outcomes[id]);
          expect(outcome, `handoff:${id} holds now: remove it from known-gaps.ts (${gap}); ${why}`).toBe(
            'PASS',
          );
        } else {
          expect(outcome).not.toBe('PASS');
        }
        if (outcome === 'PASS') {
          // What PASSed is the untrusted server's answer: the forgery, spelled out.
          const seen = run?.outcomes[id]?.scoped;
          expect(seen?.ok && JSON.stringify(seen.value)).toContain(`untrusted:${id}`);
          expect(readFileSync(join(dir, `${id}.json`), 'utf8')).toContain(trusted.url.replace('http://', ''));
        }
      });
    }
  });
});
