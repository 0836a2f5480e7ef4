/**
 * The body of the adversarial suite's test files (attempts.test.ts, attempts-env.test.ts: two
 * files so that vitest runs them on two workers). The adversarial suite (issue #8): from inside a provably scope, every way we know to get bytes
 * to or from an untrusted server, or to make a record name a server that did not answer.
 *
 * Attempts are data (test/adversarial/attempts/*.mjs) run by a real agent process under the real
 * preload (kit/runner.mjs), grouped by setup: interceptContext scopes, GenAI tool spans from three
 * copies of @opentelemetry/api, code loaded before the preload, proxies from the environment.
 * Every attempt has its own untrusted targets (TCP, TLS with its own certificate, unix socket,
 * UDP) that count connections and bytes and answer 200 to anything. Per attempt (kit/check.ts):
 * refused with PROVABLY_BLOCKED, its targets saw 0 connections and 0 bytes, and no row names a URL,
 * peer or certificate other than the server whose bytes it holds.
 *
 * known-gaps.ts lists the attempts that fail on the code in this tree: they must still fail (a fix
 * forces the entry's removal); everything else must pass. ADV_REPORT=<file> writes every attempt's
 * violations as JSON (for the gap list and the report table).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeE2E, type E2EStore, useE2EStores } from '../../e2e/stores.js';
import { knownGap } from '../known-gaps.js';
import { type Group, loadGroups } from './attempts.js';
import { certSha256, type KnownServers, violations } from './check.js';
import { type GroupRun, rowsOf, runGroup, type SharedSetup } from './run-group.js';
import { type DeclaredProxy, startDeclaredProxy, startTrusted, type TrustedServer } from './targets.js';

const allGroups = await loadGroups();
const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/** The classes the suite must cover (the issue's list). */
const CLASSES = [
  'proxy-undeclared',
  'proxy-declared',
  'env-proxy',
  'socket-destination',
  'raw-tcp-tls',
  'http2-grpc',
  'udp-dns',
  'workers-children',
  'redirects',
  'url-spellings',
  'async-in-scope',
  'mixing',
  'genai-scope',
  'loaded-before-preload',
];

/** Checks the whole suite's inventory (called by one of the test files). */
export function inventoryTest(): void {
  it('the suite holds at least 150 attempts, ids unique, every class covered', () => {
    const ids = allGroups.flatMap((g) => g.attempts.map((a) => a.id));
    expect(new Set(ids).size).toBe(ids.length);
    const attacks = allGroups.flatMap((g) => g.attempts).filter((a) => a.class !== 'control');
    expect(attacks.length).toBeGreaterThanOrEqual(150);
    expect(new Set(attacks.map((a) => a.class))).toEqual(new Set(CLASSES));
  });
}

/**
 * The attempts of the groups `pick` selects, on every configured store. ADV_REPORT=<file> writes
 * each attempt's violations there (files of both test files: `<file>.<name>.json`).
 */
export function attemptSuite(name: string, pick: (g: Group) => boolean): void {
  const groups = allGroups.filter(pick);
  const report: Record<string, { class: string; backend: string; ms?: number; violations: string[] }> = {};
  let trusted: TrustedServer;
  let trustedTls: TrustedServer;
  let proxy: DeclaredProxy;
  beforeAll(async () => {
    [trusted, trustedTls, proxy] = await Promise.all([
      startTrusted(false),
      startTrusted(true),
      startDeclaredProxy(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([trusted?.close(), trustedTls?.close(), proxy?.close()]);
    if (process.env.ADV_REPORT)
      writeFileSync(`${process.env.ADV_REPORT}.${name}.json`, JSON.stringify(report, null, 2));
  });

  describeE2E('adversarial attempts', (backend) => {
    const stores = useE2EStores(backend);

    for (const group of groups) {
      describe(group.name, () => {
        let run: GroupRun | undefined;
        let servers: KnownServers;
        beforeAll(async () => {
          const store: E2EStore = await stores.fresh();
          await store.trust(
            trusted.url,
            `${trusted.url}/{rest:path}`,
            trustedTls.url,
            `${trustedTls.url}/{rest:path}`,
          );
          const shared: SharedSetup = {
            trusted: trusted.url,
            trustedTls: trustedTls.url,
            trustedCa: trustedTls.ca ?? '',
            proxy: proxy.url,
          };
          servers = {
            trusted: { origin: trusted.url, port: trusted.port },
            trustedTls: {
              origin: trustedTls.url,
              port: trustedTls.port,
              certSha256: certSha256(trustedTls.ca ?? ''),
            },
          };
          run = await runGroup(group, store, shared);
          report[`${backend}:group:${group.name}`] = {
            class: 'group',
            backend,
            ms: run.run.workMs,
            violations: [],
          };
        }, 180_000);
        afterAll(async () => {
          await run?.close();
        });

        for (const attempt of group.attempts) {
          const gap = knownGap(attempt.id, backend);
          it(`${attempt.id}${gap ? ' [known gap]' : ''}: ${attempt.description}`, () => {
            if (run === undefined) throw new Error('the group did not run');
            const found = violations({
              attempt,
              outcome: run.outcomes[attempt.id],
              counters: run.targets.get(attempt.id)?.counters ?? {},
              rows: rowsOf(run.rows, attempt.id),
              servers,
              readme,
            });
            report[`${backend}:${attempt.id}`] = {
              class: attempt.class,
              backend,
              ms: run.outcomes[attempt.id]?.ms,
              violations: found,
            };
            if (gap !== undefined) {
              expect(
                found.length,
                `${attempt.id} holds now: remove it from known-gaps.ts (${gap})`,
              ).toBeGreaterThan(0);
            } else {
              expect(found, attempt.description).toEqual([]);
            }
          });
        }
      });
    }
  });
}
