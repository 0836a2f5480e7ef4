/**
 * Attempts that FAIL on the code in this tree, each with what happens today. The suite asserts
 * that every id listed here still fails (so a fix forces its removal from this list) and that
 * every other attempt passes. Never weaken an attempt's expectation to move it off this list:
 * fix the product, then delete the line.
 *
 * `nodeMajors` limits an entry to the Node versions where it fails (bundled undici and Node's
 * own proxy support differ between majors); without it the entry holds on every version.
 */
export interface KnownGap {
  reason: string;
  nodeMajors?: number[];
  /** The stores where it fails (a limit of the embedded store, say); without it, every store. */
  stores?: Array<'pglite' | 'postgres'>;
}

export const KNOWN_GAPS: Record<string, KnownGap | string> = {
  // Measured on main cb5a15c + this suite (Node 22, 24, 26; PGlite and PostgreSQL alike).
  'env-axios-http-proxy':
    'went through, got the untrusted body; http target saw 1 connections, 235 bytes; FORGED row under the trusted URL',
  'env-envhttpproxyagent-from-env':
    'went through, got the untrusted body; http target saw 1 connections, 197 bytes; FORGED row under the trusted URL',
  'env-node-use-env-proxy-fetch': {
    reason:
      'went through, got the untrusted body; http target saw 1 connections, 195 bytes; FORGED row under the trusted URL',
    nodeMajors: [26],
  },
  'env-node-use-env-proxy-http-get':
    'went through, got the untrusted body; http target saw 1 connections, 120 bytes; FORGED row under the trusted URL',
  'env-node-use-env-proxy-https-get':
    'went through, got the untrusted body; http target saw 1 connections, 1827 bytes; FORGED row under the trusted https URL',
  'genai-19:genai-first-request-fetch':
    'went through, got the untrusted body; http target saw 1 connections, 171 bytes',
  'genai-19:genai-http-get': 'went through, got the untrusted body; http target saw 1 connections, 66 bytes',
  'genai-19:genai-proxy-forgery':
    'went through, got the untrusted body; http target saw 1 connections, 195 bytes',
  'genai-19:genai-undici8-request':
    'went through, got the untrusted body; http target saw 1 connections, 66 bytes',
  'genai-cjs:genai-first-request-fetch':
    'went through, got the untrusted body; http target saw 1 connections, 171 bytes',
  'genai-cjs:genai-http-get': 'went through, got the untrusted body; http target saw 1 connections, 66 bytes',
  'genai-cjs:genai-proxy-forgery':
    'went through, got the untrusted body; http target saw 1 connections, 195 bytes',
  'genai-cjs:genai-undici8-request':
    'went through, got the untrusted body; http target saw 1 connections, 66 bytes',
  'genai-esm:genai-first-request-fetch':
    'went through, got the untrusted body; http target saw 1 connections, 171 bytes',
  'genai-esm:genai-proxy-forgery':
    'went through, got the untrusted body; http target saw 1 connections, 195 bytes; FORGED row under the trusted URL',
  'grpc-js-insecure':
    'failed without PROVABLY_BLOCKED (Error[14]: 14 UNAVAILABLE); http target saw 2 connections, 78 bytes',
  'http2-authority-trusted':
    'failed without PROVABLY_BLOCKED (Error[ERR_HTTP2_ERROR]: Protocol error); http target saw 1 connections, 62 bytes',
  'http2-connect-h2c':
    'failed without PROVABLY_BLOCKED (Error[ERR_HTTP2_ERROR]: Protocol error); http target saw 1 connections, 62 bytes',
  'http2-connect-tls':
    'failed without PROVABLY_BLOCKED (Error[ERR_HTTP2_STREAM_CANCEL]: The pending stream has been ); tls target saw 1 connections, 1577 bytes',
  'http2-createconnection':
    'failed without PROVABLY_BLOCKED (Error[ERR_HTTP2_ERROR]: Protocol error); http target saw 1 connections, 62 bytes',
  'pre-captured-addrequest': 'http target saw 1 connections, 0 bytes',
  'pre-captured-addrequest-trusted-url':
    'went through, got the untrusted body; http target saw 1 connections, 61 bytes; FORGED row under the trusted URL',
  'pre-captured-net-connect':
    'went through: status 0, body "connected"; http target saw 1 connections, 5 bytes',
  'pre-captured-socket-connect':
    'went through: status 0, body "connected"; http target saw 1 connections, 5 bytes',
  'pre-captured-tls-connect':
    'went through: status 0, body "tls connected"; tls target saw 1 connections, 1568 bytes',
  'pre-captured-tls-socket-proto':
    'went through: status 0, body "tls connected"; tls target saw 1 connections, 1568 bytes',
  'abs-http-request-path':
    'went through, got the untrusted body; http target saw 1 connections, 90 bytes; FORGED row under the trusted URL',
  'abs-http-request-path-host-header':
    'went through, got the untrusted body; http target saw 1 connections, 90 bytes; FORGED row under the trusted URL',
  'axios-http-proxy-env':
    'went through, got the untrusted body; http target saw 1 connections, 205 bytes; FORGED row under the trusted URL',
  'axios-proxy-https-target':
    'failed without PROVABLY_BLOCKED (Error[EPROTO]: write EPROTO C02C6A64B87F0000:error:0A00010B:); http target saw 1 connections, 1664 bytes',
  'axios-proxy-option':
    'went through, got the untrusted body; http target saw 1 connections, 205 bytes; FORGED row under the trusted URL',
  'got-http-proxy-agent':
    'went through, got the untrusted body; http target saw 1 connections, 207 bytes; FORGED row under the trusted URL',
  'http-proxy-agent':
    'went through, got the untrusted body; http target saw 1 connections, 110 bytes; FORGED row under the trusted URL',
  'https-proxy-agent-http':
    'went through, got the untrusted body; http target saw 1 connections, 147 bytes; FORGED row under the trusted URL',
  'https-proxy-agent-https':
    'went through, got the untrusted body; http target saw 1 connections, 1817 bytes; FORGED row under the trusted https URL',
  'node-fetch-http-proxy-agent':
    'went through, got the untrusted body; http target saw 1 connections, 183 bytes; FORGED row under the trusted URL',
  'socks-proxy-agent':
    'failed without PROVABLY_BLOCKED (Error: Received invalid Socks5 initial handshake (invalid so); http target saw 1 connections, 3 bytes',
  'undici7-proxytunnel-false':
    'went through, got the untrusted body; http target saw 1 connections, 197 bytes; FORGED row under the trusted URL',
  'undici8-envhttpproxyagent':
    'went through, got the untrusted body; http target saw 1 connections, 197 bytes; FORGED row under the trusted URL',
  'undici8-proxyagent-fetch':
    'went through, got the untrusted body; http target saw 1 connections, 197 bytes; FORGED row under the trusted URL',
  'undici8-proxyagent-global-fetch': {
    reason:
      'went through, got the untrusted body; http target saw 1 connections, 195 bytes; FORGED row under the trusted URL',
    nodeMajors: [26],
  },
  'undici8-proxyagent-request':
    'went through, got the untrusted body; http target saw 1 connections, 90 bytes; FORGED row under the trusted URL',
  'undici8-proxytunnel-false':
    'went through, got the untrusted body; http target saw 1 connections, 197 bytes; FORGED row under the trusted URL',
  'undici8-setglobaldispatcher-proxy':
    'went through, got the untrusted body; http target saw 1 connections, 195 bytes; FORGED row under the trusted URL',
  'undici8-socks5-proxyagent':
    'failed without PROVABLY_BLOCKED (Socks5ProxyError[UND_ERR_SOCKS5_VERSION]: Invalid SOCKS vers); http target saw 1 connections, 3 bytes',
  'net-blocklist-bypass-lookup':
    'went through: status 0, body "connected"; http target saw 1 connections, 5 bytes',
  'net-connect-ipv4-mapped':
    'went through: status 0, body "connected"; http target saw 1 connections, 5 bytes',
  'net-connect-localhost': 'went through: status 0, body "connected"; http target saw 1 connections, 5 bytes',
  'net-connect-no-host': 'went through: status 0, body "connected"; http target saw 1 connections, 5 bytes',
  'net-connect-options': 'went through: status 0, body "connected"; http target saw 1 connections, 5 bytes',
  'net-connect-port-host': 'went through: status 0, body "connected"; http target saw 1 connections, 5 bytes',
  'net-connect-unix': 'went through: status 0, body "connected"; unix target saw 1 connections, 5 bytes',
  'net-connect-unix-options':
    'went through: status 0, body "connected"; unix target saw 1 connections, 5 bytes',
  'net-createconnection': 'went through: status 0, body "connected"; http target saw 1 connections, 5 bytes',
  'net-socket-connect': 'went through: status 0, body "connected"; http target saw 1 connections, 5 bytes',
  'tls-connect': 'went through: status 0, body "tls connected"; tls target saw 1 connections, 1568 bytes',
  'tls-connect-over-socket':
    'went through: status 0, body "tls connected"; tls target saw 1 connections, 1568 bytes',
  'tls-connect-servername-trusted':
    'went through: status 0, body "tls connected"; tls target saw 1 connections, 1589 bytes',
  'agent-getname-constant-reuse':
    'went through, got the untrusted body; http target got scoped requests: GET /in-scope; FORGED row under the trusted URL',
  'agent-host-port-keepalive':
    'went through, got the untrusted body; http target saw 1 connections, 66 bytes; FORGED row under the trusted URL',
  'agent-port-option':
    'went through, got the untrusted body; http target saw 1 connections, 61 bytes; FORGED row under the trusted URL',
  'agent-socketpath-option':
    'went through, got the untrusted body; unix target saw 1 connections, 61 bytes; FORGED row under the trusted URL',
  'agent-subclass-createconnection-net':
    'went through, got the untrusted body; http target saw 1 connections, 61 bytes; FORGED row under the trusted URL',
  'agent-subclass-createconnection-tls':
    'went through, got the untrusted body; tls target saw 1 connections, 1731 bytes; FORGED row under the trusted https URL',
  'http-lookup-trusted-host-elsewhere':
    'went through, got the untrusted body; http target saw 1 connections, 61 bytes; FORGED row under the trusted URL',
  'raw-net-http-by-hand': 'went through, got the untrusted body; http target saw 1 connections, 61 bytes',
  'request-createconnection-agent-null':
    'went through, got the untrusted body; http target saw 1 connections, 61 bytes; FORGED row under the trusted URL',
  'request-createconnection-callback':
    'went through, got the untrusted body; http target saw 1 connections, 61 bytes; FORGED row under the trusted URL',
  'request-createconnection-no-agent':
    'went through, got the untrusted body; http target saw 1 connections, 61 bytes; FORGED row under the trusted URL',
  'request-socketpath-trusted-url':
    'went through, got the untrusted body; unix target saw 1 connections, 66 bytes; FORGED row under the trusted URL',
  'two-agents-shared-free-sockets':
    'went through, got the untrusted body; http target got scoped requests: GET /in-scope; FORGED row under the trusted URL',
  'undici7-agent-socketpath':
    'went through, got the untrusted body; unix target saw 1 connections, 173 bytes; FORGED row under the trusted URL',
  'undici7-custom-connect':
    'went through, got the untrusted body; http target saw 1 connections, 66 bytes; FORGED row under the trusted URL',
  'undici7-pool-factory':
    'went through, got the untrusted body; http target saw 1 connections, 66 bytes; FORGED row under the trusted URL',
  'undici8-client-socketpath':
    'went through, got the untrusted body; unix target saw 1 connections, 66 bytes; FORGED row under the trusted URL',
  'undici8-custom-connect':
    'went through, got the untrusted body; http target saw 1 connections, 66 bytes; FORGED row under the trusted URL',
  'ws-host-header':
    'went through: status 200, body "unexpected-response"; http target saw 1 connections, 226 bytes; FORGED row under the trusted URL',
  'ws-plain': 'http target saw 1 connections, 0 bytes',
  'dgram-connect-send': 'went through: status 0, body "sent"; udp target saw 1 datagrams, 4 bytes',
  'dgram-send-udp4': 'went through: status 0, body "sent"; udp target saw 1 datagrams, 4 bytes',
  'dgram-send-udp6-mapped': 'went through: status 0, body "sent"; udp target saw 1 datagrams, 4 bytes',
  'dns-promises-resolver-custom-server':
    'failed without PROVABLY_BLOCKED (Error[ETIMEOUT]: queryTxt ETIMEOUT exfil.example); udp target saw 1 datagrams, 31 bytes',
  'dns-resolver-custom-server':
    'failed without PROVABLY_BLOCKED (Error[ETIMEOUT]: queryA ETIMEOUT exfil.example); udp target saw 1 datagrams, 31 bytes',
  'dns-setservers-global':
    'failed without PROVABLY_BLOCKED (Error[ADV_TIMEOUT]: attempt timed out); udp target saw 2 datagrams, 62 bytes',
  'exec-bash-dev-tcp':
    'went through: status 0, body "bash connected"; http target saw 1 connections, 22 bytes',
  'execfile-bash-dev-tcp':
    'went through: status 0, body "bash connected"; http target saw 1 connections, 22 bytes',
  'fork-execargv-empty': 'went through, got the untrusted body; http target saw 1 connections, 171 bytes',
  'fork-node-child': 'went through, got the untrusted body; http target saw 1 connections, 171 bytes',
  'spawn-bash-dev-tcp':
    'went through: status 0, body "bash connected"; http target saw 1 connections, 22 bytes',
  'spawn-curl': 'went through: status 0, body "bash connected"; http target saw 1 connections, 83 bytes',
  'spawn-node-clean-env': 'went through, got the untrusted body; http target saw 1 connections, 171 bytes',
  'spawn-node-e': 'went through, got the untrusted body; http target saw 1 connections, 171 bytes',
  'spawn-node-inherit-env': 'went through, got the untrusted body; http target saw 1 connections, 171 bytes',
  'spawn-shell-true-dev-tcp':
    'went through: status 0, body "bash connected"; http target saw 1 connections, 22 bytes',
  'spawnsync-bash-dev-tcp':
    'went through: status 0, body "bash connected"; http target saw 1 connections, 22 bytes',
  'worker-env-share-stripped':
    'went through, got the untrusted body; http target saw 1 connections, 171 bytes',
  'worker-eval-esm-http': 'went through, got the untrusted body; http target saw 1 connections, 66 bytes',
  'worker-eval-fetch': 'went through, got the untrusted body; http target saw 1 connections, 171 bytes',
  'worker-execargv-empty': 'went through, got the untrusted body; http target saw 1 connections, 171 bytes',
  'worker-file-fetch': 'went through, got the untrusted body; http target saw 1 connections, 171 bytes',
  'worker-file-http': 'went through, got the untrusted body; http target saw 1 connections, 66 bytes',
  // The same, captured by CommonJS code loaded with --require before the preload.
  'cjs:pre-captured-addrequest': 'http target saw 1 connections, 0 bytes',
  'cjs:pre-captured-addrequest-trusted-url':
    'went through, got the untrusted body; http target saw 1 connections, 61 bytes; FORGED row under the trusted URL',
  'cjs:pre-captured-net-connect':
    'went through: status 0, body "connected"; http target saw 1 connections, 5 bytes',
  'cjs:pre-captured-socket-connect':
    'went through: status 0, body "connected"; http target saw 1 connections, 5 bytes',
  'cjs:pre-captured-tls-connect':
    'went through: status 0, body "tls connected"; tls target saw 1 connections, 1568 bytes',
  'cjs:pre-captured-tls-socket-proto':
    'went through: status 0, body "tls connected"; tls target saw 1 connections, 1568 bytes',
  // The forged-handoff chain (handoff-chain.test.ts): each forged row's claim PASSes offline.
  'handoff:undici8-proxyagent-fetch':
    'the forged row (untrusted bytes under the trusted URL) yields PASS from evaluate --offline',
  'handoff:undici7-proxytunnel-false':
    'the forged row (untrusted bytes under the trusted URL) yields PASS from evaluate --offline',
  'handoff:axios-proxy-option':
    'the forged row (untrusted bytes under the trusted URL) yields PASS from evaluate --offline',
  'handoff:http-proxy-agent':
    'the forged row (untrusted bytes under the trusted URL) yields PASS from evaluate --offline',
  'handoff:agent-port-option':
    'the forged row (untrusted bytes under the trusted URL) yields PASS from evaluate --offline',
  'handoff:agent-subclass-createconnection-tls':
    'the forged row (untrusted bytes under the trusted URL) yields PASS from evaluate --offline',
  'handoff:request-socketpath-trusted-url':
    'the forged row (untrusted bytes under the trusted URL) yields PASS from evaluate --offline',
  'handoff:request-createconnection-no-agent':
    'the forged row (untrusted bytes under the trusted URL) yields PASS from evaluate --offline',
  'handoff:undici8-custom-connect':
    'the forged row (untrusted bytes under the trusted URL) yields PASS from evaluate --offline',
  'handoff:undici8-client-socketpath':
    'the forged row (untrusted bytes under the trusted URL) yields PASS from evaluate --offline',
};

/** The known gap for `id` on this Node version and store, if any. */
export function knownGap(id: string, store?: 'pglite' | 'postgres'): string | undefined {
  const gap = KNOWN_GAPS[id];
  if (gap === undefined) return undefined;
  if (typeof gap === 'string') return gap;
  const major = Number(process.versions.node.split('.')[0]);
  if (gap.nodeMajors !== undefined && !gap.nodeMajors.includes(major)) return undefined;
  if (gap.stores !== undefined && store !== undefined && !gap.stores.includes(store)) return undefined;
  return gap.reason;
}
