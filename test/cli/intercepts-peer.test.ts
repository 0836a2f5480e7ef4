/**
 * Who answered, through the BUILT binary: `provably intercepts show` prints the peer (and --json
 * carries it), and `provably verify` names the record whose peer a superuser edited — on an
 * embedded data dir, and on PostgreSQL when configured. Rows are written the way the runtime
 * writes them (recorder + leaves, then a signed checkpoint); the peer is reported to the
 * recording directly, as a transport adapter does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCheckpoint, loadSigner } from '../../src/ledger/index.js';
import type { CallPeer } from '../../src/record/index.js';
import { recordRun, superuser, withEnvStore } from '../fixtures/handoff/records.js';
import { cliBackends, runCli } from '../helpers/cli.js';

const CERT = 'd4'.repeat(32);
const TLS_PEER: CallPeer = {
  address: '127.0.0.1',
  port: 8443,
  protocol: 'h2',
  tls: { certSha256: CERT, subject: 'CN=api.example.com', subjectAltName: 'DNS:api.example.com' },
  proxy: 'http://127.0.0.1:3128',
};
const PLAIN_PEER: CallPeer = { address: '::1', port: 8080, protocol: 'http/1.1', tls: null, proxy: null };

for (const backend of cliBackends()) {
  describe(`provably intercepts show / verify: who answered [${backend.name}]`, () => {
    let env: NodeJS.ProcessEnv;
    let cleanup: () => Promise<void>;
    let tmp: string;
    let ids: string[];
    const org = 'org-peer';

    beforeAll(async () => {
      ({ env, cleanup } = await backend.env());
      tmp = mkdtempSync(join(tmpdir(), 'provably-cli-peer-'));
      env.PROVABLY_DATA_DIR ??= join(tmp, '.provably');
      ids = await withEnvStore(env, async (store) => {
        const run = await recordRun(store, {
          orgId: org,
          calls: [
            { action: 'tls', url: 'https://api.example.com/a', body: { a: 1 }, peer: TLS_PEER },
            { action: 'plain', url: 'http://api.example.com/b', body: { b: 2 }, peer: PLAIN_PEER },
            { action: 'none', url: 'https://api.example.com/c', body: { c: 3 } },
          ],
        });
        await issueCheckpoint(store, org, loadSigner({ env }));
        return run.ids;
      });
    }, 120_000);
    afterAll(async () => {
      await cleanup();
      rmSync(tmp, { recursive: true, force: true });
    });

    it('show prints who answered; --json carries leaf_version and the peer', async () => {
      const [tls, plain, none] = ids as [string, string, string];
      const human = await runCli(['intercepts', 'show', tls], env);
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toContain(
        `answered by   127.0.0.1:8443 h2; tls cert sha256 ${CERT}, subject CN=api.example.com; san DNS:api.example.com; via proxy http://127.0.0.1:3128`,
      );
      expect((await runCli(['intercepts', 'show', plain], env)).stdout).toContain(
        'answered by   ::1:8080 http/1.1; no tls',
      );
      expect((await runCli(['intercepts', 'show', none], env)).stdout).toContain(
        'answered by   - (no connection)',
      );

      const json = JSON.parse((await runCli(['intercepts', 'show', tls, '--json'], env)).stdout);
      expect(json).toMatchObject({
        leaf_version: 2,
        peer: {
          address: '127.0.0.1',
          port: 8443,
          protocol: 'h2',
          tls: { cert_sha256: CERT, subject: 'CN=api.example.com', subject_alt_name: 'DNS:api.example.com' },
          proxy: 'http://127.0.0.1:3128',
        },
      });
      const listed = JSON.parse((await runCli(['intercepts', 'list', '--org', org, '--json'], env)).stdout);
      expect(listed.map((r: { peer: unknown }) => r.peer)).toEqual([
        null,
        { address: '::1', port: 8080, protocol: 'http/1.1', tls: null, proxy: null },
        json.peer,
      ]);
    }, 120_000);

    it('verify: OK, then a superuser edit of the certificate fingerprint → exit 1 naming the record', async () => {
      const ok = await runCli(['verify', '--org', org], env);
      expect(ok.code, ok.stderr + ok.stdout).toBe(0);
      const changed = await withEnvStore(env, (store) =>
        superuser(store, [
          [`UPDATE provably_intercepts SET peer_tls_cert_sha256 = repeat('0', 64) WHERE id = $1`, [ids[0]]],
        ]),
      );
      expect(changed).toBe(1);
      const broken = await runCli(['verify', '--org', org, '--json'], env);
      expect(broken.code).toBe(1);
      expect(JSON.parse(broken.stdout).firstBroken).toMatchObject({
        kind: 'record-mismatch',
        leafIndex: 0,
        recordId: ids[0],
        changed: 'record',
      });
    }, 120_000);
  });
}
