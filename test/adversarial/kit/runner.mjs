// The agent process of the adversarial suite, started by the test with the real preload
// (`node --import provably/register`, sometimes after another --import). ADV_CONFIG names a JSON
// file: { modules, ids, scope, targets, trusted, trustedTls, trustedCa, untrustedCa, proxy,
// handoffDir }. Runs each attempt (sequentially) inside the configured kind of scope, its optional
// `outside` part outside any scope, and reports one settled outcome per attempt.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { agentRun, buildHandoffPayload, interceptContext, provablyStatus, selfEgress } from 'provably';
import { result } from '../../fixtures/e2e/lib.cjs';
import { ATTEMPT_TIMEOUT_MS, shapeOf, withTimeout } from './child-lib.mjs';

const config = JSON.parse(readFileSync(process.env.ADV_CONFIG, 'utf8'));
const require = createRequire(import.meta.url);

/** Runs fn inside the group's kind of scope for attempt `id`. */
async function scopeRunner(kind) {
  if (kind === 'context') {
    return (id, fn) => interceptContext({ agentId: 'adversary', actionName: id }, fn);
  }
  // GenAI tool spans, from the API copy an app would use; the tracer is taken NOW, at startup,
  // before any HTTP request (as SDKs do when they are constructed).
  let api;
  if (kind === 'genai-esm') api = await import('@opentelemetry/api');
  else if (kind === 'genai-cjs') api = require('@opentelemetry/api');
  else if (kind === 'genai-19') api = require('otel-api-19');
  else throw new Error(`unknown scope kind ${kind}`);
  const tracer = api.trace.getTracer('adversarial-agent-sdk');
  return (id, fn) =>
    tracer.startActiveSpan(
      `execute_tool ${id}`,
      {
        attributes: {
          'gen_ai.operation.name': 'execute_tool',
          'gen_ai.tool.name': id,
          'gen_ai.agent.name': 'adversary',
        },
      },
      async (span) => {
        try {
          return await fn();
        } finally {
          span.end();
        }
      },
    );
}

const settle = (fn) =>
  withTimeout(Promise.resolve().then(fn), ATTEMPT_TIMEOUT_MS).then(
    (value) => ({ ok: true, value: JSON.parse(JSON.stringify(value ?? null) ?? 'null') }),
    (error) => ({ ok: false, error: shapeOf(error) }),
  );

const attempts = new Map();
for (const file of config.modules) {
  const mod = await import(file);
  for (const a of mod.default) attempts.set(a.id, a);
}
const inScope = await scopeRunner(config.scope);

// Open the store before the first attempt (an embedded store takes seconds to open): a trusted
// call in a scope of its own. Not in GenAI groups, whose first attempt must be the process's
// first HTTP request.
// Nor where the environment names a proxy: the warm-up would go through it.
if (config.warmUp) {
  await interceptContext({ agentId: 'adversary', actionName: 'warm-up' }, () =>
    fetch(`${config.trusted}/warm-up`).then((r) => r.text()),
  );
}

const outcomes = {};
// An attempt's stray error (a socket error nobody listens to) must not end the whole batch.
const stray = [];
process.on('uncaughtException', (err) => stray.push(shapeOf(err)));
process.on('unhandledRejection', (err) => stray.push(shapeOf(err)));
for (const id of config.ids) {
  // GenAI groups prefix ids with their scope kind (`genai-esm:…`); the module knows the bare id.
  const a = attempts.get(id) ?? attempts.get(id.slice(id.indexOf(':') + 1));
  const t = config.targets[id] ?? {};
  const c = {
    id,
    T: {
      ...t,
      url: t.http ? `http://127.0.0.1:${t.http}` : undefined,
      tlsUrl: t.tls ? `https://127.0.0.1:${t.tls}` : undefined,
    },
    TR: config.trusted,
    TRS: config.trustedTls,
    trustedPort: Number(new URL(config.trusted).port),
    trustedTlsPort: Number(new URL(config.trustedTls).port),
    trustedCa: config.trustedCa,
    untrustedCa: config.untrustedCa,
    proxy: config.proxy,
    inScope: (fn) => inScope(id, fn),
  };
  const out = {};
  const t0 = performance.now();
  if (a.outside) out.outside = await settle(() => a.outside(c));
  const scoped = async () => {
    out.scoped = await inScope(id, () => settle(() => a.run(c, { outside: (fn) => selfEgress(fn) })));
    if (config.handoffDir && out.scoped.ok) await handoff(id, out.scoped.value);
  };
  if (config.handoffDir) await agentRun(`run ${id}`, scoped);
  else await scoped();
  out.ms = Math.round(performance.now() - t0);
  outcomes[id] = out;
}

/** What the tool "saw" becomes a model's claim; a payload is written for `provably evaluate`. */
async function handoff(id, seen) {
  const body = seen && typeof seen === 'object' ? seen.body : undefined;
  const claims = [{ action_name: id, verification_mode: 'verbatim', claimed_value: body }];
  try {
    // A forged node:http row can commit AFTER the caller saw the body's end (PostgreSQL): the
    // chain is about what a payload proves, so give the row a moment, and note that it was late.
    let built;
    for (let attempt = 0; ; attempt++) {
      try {
        built = await buildHandoffPayload(JSON.stringify({ claims }), { task: `adversarial ${id}` });
        if (attempt > 0) writeFileSync(join(config.handoffDir, `${id}.late`), String(attempt));
        break;
      } catch (err) {
        if (attempt >= 10 || err?.code !== 'PROVABLY_HANDOFF_UNRESOLVED') throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    writeFileSync(join(config.handoffDir, `${id}.json`), JSON.stringify(built.payload));
  } catch (err) {
    // No record of this run to pin the claim to: nothing can PASS. Reported for the test's notes.
    writeFileSync(join(config.handoffDir, `${id}.unbuilt.json`), JSON.stringify(shapeOf(err)));
  }
}

result({ outcomes, stray, status: provablyStatus() });
// Attempts leave agents, pools and keep-alive sockets behind on purpose: do not wait for them.
// Rows are committed before a body's end is delivered, and the store's lock is released at exit.
setTimeout(() => process.exit(0), 200);
