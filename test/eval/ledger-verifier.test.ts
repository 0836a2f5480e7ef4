// The evaluator's view of a record's leaf from the wire content (src/eval/ledger-verifier.ts):
// version-1 and version-2 content round-trip to the exact leaf of the stored record, and wire
// content no leaf can have come from is refused, never trimmed into something that verifies.
import { describe, expect, it } from 'vitest';
import { leafRecordOf } from '../../src/eval/ledger-verifier.js';
import { type HandoffRecordContent, recordContentOf } from '../../src/handoff/index.js';
import { leafBytes, ProvablyLeafContentError } from '../../src/ledger/index.js';
import type { InterceptRecord, RecordPeer } from '../../src/record/index.js';

const base: InterceptRecord = {
  id: '3f2b8c1e-4d5a-4b6c-9d7e-8f9a0b1c2d3e',
  orgId: 'acme',
  agentId: 'agent-1',
  actionName: 'search',
  interceptIndex: 2,
  traceId: null,
  spanId: null,
  method: 'GET',
  url: 'https://api.example.com/v1/search',
  status: 200,
  requestHeaders: { accept: 'application/json' },
  responseHeaders: { 'content-type': 'application/json' },
  responseBody: null,
  contentEncoding: null,
  bodySha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  bodySize: 0,
  bodyTruncated: false,
  error: null,
  startedAt: new Date('2025-01-02T03:04:05.006Z'),
  durationMs: 12.5,
  createdAt: new Date(),
  leafVersion: 2,
  peer: null,
};
const tls = { certSha256: 'ab'.repeat(32), subject: 'CN=api.example.com', subjectAltName: null };
const PEERS: (RecordPeer | null)[] = [
  null,
  { address: '127.0.0.1', port: 443, protocol: 'h2', tls, proxy: null },
  { address: '::1', port: 80, protocol: 'http/1.1', tls: null, proxy: 'http://127.0.0.1:3128' },
  // Shapes only an edited row has: still represented exactly.
  { address: null, port: 443, protocol: null, tls: null, proxy: null },
  {
    address: null,
    port: null,
    protocol: null,
    tls: { certSha256: null, subject: 'CN=x', subjectAltName: null },
    proxy: null,
  },
];

const bytes = (u: Uint8Array) => Buffer.from(u).toString('hex');

describe('leafRecordOf', () => {
  it('round-trips version-1 and version-2 records to the stored record’s exact leaf', () => {
    const v1 = { ...base, leafVersion: 1 as const, peer: null };
    expect(bytes(leafBytes(leafRecordOf(recordContentOf(v1)), 5))).toBe(bytes(leafBytes(v1, 5)));
    for (const peer of PEERS) {
      const record = { ...base, peer };
      const content = recordContentOf(record);
      expect(content).toMatchObject({ leaf_kind: 'intercept', leaf_version: 2 });
      expect(bytes(leafBytes(leafRecordOf(content), 5)), JSON.stringify(peer)).toBe(
        bytes(leafBytes(record, 5)),
      );
    }
  });

  it('refuses peer fields or a kind on a version-1 record, and any kind but intercept', () => {
    const v1 = recordContentOf({ ...base, leafVersion: 1, peer: null });
    for (const extra of [{ peer_address: null }, { peer_proxy: 'http://p:1' }, { leaf_kind: 'intercept' }]) {
      expect(() => leafRecordOf({ ...v1, ...extra } as HandoffRecordContent)).toThrow(
        ProvablyLeafContentError,
      );
    }
    const v2 = recordContentOf({ ...base, peer: PEERS[1] as RecordPeer });
    expect(() => leafRecordOf({ ...v2, leaf_kind: 'decision' } as unknown as HandoffRecordContent)).toThrow(
      /leaf_kind/,
    );
  });

  it('a version-1 record that holds a peer (an edited row) is shown, and its leaf refused', () => {
    const edited = { ...base, leafVersion: 1 as const, peer: PEERS[1] as RecordPeer };
    const content = recordContentOf(edited);
    expect(content).toMatchObject({ leaf_version: 1, peer_address: '127.0.0.1' });
    expect(() => leafBytes(edited, 0)).toThrow(/version-1 leaf cannot bind a peer/);
  });
});
