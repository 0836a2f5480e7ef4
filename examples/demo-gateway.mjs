// The policy-gateway half of `npm run demo` (called by examples/demo.mjs):
//  1. an operator makes a tenant, an agent key, a reviewer key and a Cedar policy (CLI),
//  2. starts `provably gateway` (its own embedded store),
//  3. the payments agent runs under the preload in REMOTE mode (examples/payments-agent.mjs):
//     ALLOW (its HTTP call recorded in the agent's store, same trace), BLOCK, an ESCALATE that a
//     reviewer approves over REST while the agent waits, and one that expires,
//  4. the audit trail and an inclusion proof over REST,
//  5. `provably verify` over the gateway's decisions and the agent's intercepts.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PAYMENTS_POLICY = `@id("small-payments")
@reason("small payments are fine")
permit(principal == Agent::"billing-agent", action == Action::"payments.initiate", resource)
  when { context.params.amount <= 100 };

@id("large-payments")
@escalate("payments over 100 need a human")
@hold("600")
permit(principal == Agent::"billing-agent", action == Action::"payments.initiate", resource)
  when { context.params.amount > 100 && context.params.amount < 10000 };

@id("no-crypto")
@reason("crypto payments are forbidden")
forbid(principal, action == Action::"payments.initiate", resource)
  when { context.params has currency && context.params.currency == "BTC" };

@id("refunds")
@escalate("refunds need a human")
@hold("3")
permit(principal == Agent::"billing-agent", action == Action::"payments.refund", resource);
`;

/**
 * Runs the gateway demo. `ctx`: { cli, root, work, env, run, show, step, paymentsUrl }.
 * Resolves with what the summary prints.
 */
export async function gatewayDemo(ctx) {
  const { cli, work, run, show, step } = ctx;
  const out = (s) => process.stdout.write(`${s}\n`);
  const gatewayEnv = { PROVABLY_DATA_DIR: join(work, 'gateway', '.provably'), PROVABLY_ORG_ID: 'demo' };
  const agentEnv = { PROVABLY_DATA_DIR: join(work, 'payments-agent', '.provably'), PROVABLY_ORG_ID: 'demo' };
  const verdicts = { gatewayDir: gatewayEnv.PROVABLY_DATA_DIR, agentDir: agentEnv.PROVABLY_DATA_DIR };

  step('policy gateway: a tenant, keys and a Cedar policy (operator CLI, before the gateway starts)');
  await run([cli, 'tenants', 'create', 'demo', '--id', 'demo'], { extraEnv: gatewayEnv });
  const key = async (role, extra) => {
    const args = [cli, 'apikeys', 'create', '--tenant', 'demo', '--role', role, ...extra, '--json'];
    show(args);
    const made = JSON.parse((await run(args, { extraEnv: gatewayEnv, quiet: true })).stdout);
    out(`${role} key pvk_${made.prefix}_… (printed once; the store keeps its SHA-256)`);
    return made.key;
  };
  // `npm run demo -- --review-in-browser`: one more escalation, left for YOU to decide in the
  // reviewer dashboard (the demo waits for it, up to the policy's 10-minute hold).
  const browserReview = process.argv.includes('--review-in-browser');
  const agentKey = await key('agent', ['--agent', 'billing-agent']);
  const reviewerKey = await key('reviewer', ['--name', 'alice']);
  const policyFile = join(work, 'payments.cedar');
  writeFileSync(policyFile, PAYMENTS_POLICY);
  out(`\n${PAYMENTS_POLICY}`);
  await run([cli, 'policy', 'push', policyFile, '--tenant', 'demo'], { extraEnv: gatewayEnv });

  step('start the gateway');
  const gateway = await startGateway(ctx, gatewayEnv);
  out(`gateway at ${gateway.url}`);
  const dashboard = await gateway.dashboard();
  if (dashboard !== undefined) {
    out(
      `reviewer dashboard at ${dashboard} (while the demo runs; sign in with the reviewer key ${reviewerKey})`,
    );
  }
  const api = async (method, path, body) => {
    const res = await fetch(`${gateway.url}${path}`, {
      method,
      headers: { 'x-provably-api-key': reviewerKey, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };

  try {
    step("the payments agent's HTTP endpoint is trusted in ITS store (the gateway needs no entry)");
    await run([cli, 'endpoints', 'add', `${ctx.paymentsUrl}/payments`, '--label', 'payments API'], {
      extraEnv: agentEnv,
    });

    step('run the payments agent under the preload, remote mode; a reviewer watches over REST');
    show([
      'PROVABLY_GATEWAY_URL=… PROVABLY_API_KEY=… PROVABLY_AGENT_ID=billing-agent',
      'node',
      '--import',
      'provably/register',
      'examples/payments-agent.mjs',
    ]);
    const agentDone = run(['--import', 'provably/register', 'examples/payments-agent.mjs'], {
      quiet: true,
      live: true,
      extraEnv: {
        ...agentEnv,
        PROVABLY_GATEWAY_URL: gateway.url,
        PROVABLY_API_KEY: agentKey,
        PROVABLY_AGENT_ID: 'billing-agent',
        PAYMENTS_URL: ctx.paymentsUrl,
        DEMO_BROWSER_REVIEW: browserReview ? '1' : '0',
      },
    });
    let finished = false;
    agentDone.finally(() => {
      finished = true;
    });
    // The reviewer: approves the large payment (bound to the params hash it was shown), leaves
    // the refund alone so it expires.
    const approved = new Set();
    let announced = false;
    while (!finished) {
      const pending = await api('GET', '/v1/escalations?status=pending');
      for (const e of pending.body.escalations ?? []) {
        if (e.action !== 'payments.initiate' || approved.has(e.id)) continue;
        if (e.params?.amount === 750) {
          // The browser-review payment: announced once, decided by the human.
          if (!announced) {
            announced = true;
            out(
              `\n   >>> your turn: open ${dashboard ?? `${gateway.url}/ui`} in a browser, sign in with the reviewer key\n` +
                `   >>> ${reviewerKey}\n` +
                `   >>> and approve (or reject) the pending payment of 750 GBP. The agent waits for you.\n`,
            );
          }
          continue;
        }
        approved.add(e.id);
        const r = await api('POST', `/v1/escalations/${e.id}/approve`, {
          reason: 'known supplier',
          paramsSha256: e.paramsSha256,
        });
        out(
          `   [reviewer alice] POST /v1/escalations/${e.id}/approve ${JSON.stringify(e.params)} → ${r.status} ${r.body.status}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const agentOut = (await agentDone).stdout;
    const outcome = (label) => new RegExp(`^${label}\\s+(\\w+)\\s+→(?!.*waiting)`, 'm').exec(agentOut)?.[1];
    verdicts.allow = outcome('pay 50 GBP');
    verdicts.block = outcome('pay 20 BTC');
    verdicts.approved = outcome('pay 500 GBP');
    verdicts.expired = outcome('refund pay_1');
    if (browserReview) verdicts.browser = outcome('pay 750 GBP \\(browser\\)');

    step('the audit trail at the gateway (GET /v1/audit, reviewer key)');
    const audit = await api('GET', '/v1/audit?limit=50');
    const events = [...audit.body.events].reverse();
    for (const e of events) {
      out(
        `${e.eventType.padEnd(10)} ${String(e.decision ?? '-').padEnd(8)} ${e.action.padEnd(18)} ${e.reason}${e.reviewer ? ` [${e.reviewer}]` : ''}`,
      );
    }
    const allowed = events.find((e) => e.eventType === 'decision' && e.decision === 'ALLOW');
    out(`\nthe HTTP calls in the trace of the ALLOW decision ${allowed?.id} (the agent's store):`);
    await run([cli, 'intercepts', 'list', '--trace', String(allowed?.traceId)], { extraEnv: agentEnv });
    const inTrace = JSON.parse(
      (
        await run([cli, 'intercepts', 'list', '--trace', String(allowed?.traceId), '--json'], {
          extraEnv: agentEnv,
          quiet: true,
        })
      ).stdout,
    );
    verdicts.sameTrace =
      typeof allowed?.traceId === 'string' &&
      inTrace.length === 1 &&
      inTrace[0].url === `${ctx.paymentsUrl}/payments` &&
      inTrace[0].action_name === 'payments.initiate';
    const proof = await api('GET', `/v1/audit/${allowed?.id}/proof`);
    out(`inclusion proof for the decision: HTTP ${proof.status}, ${summarizeProof(proof.body)}`);
  } finally {
    await gateway.stop();
  }

  step('provably verify: the gateway’s decisions, then the agent’s intercepts');
  verdicts.verifyGateway = await verify(ctx, gatewayEnv);
  verdicts.verifyAgent = await verify(ctx, agentEnv);
  return verdicts;
}

async function verify({ cli, run }, extraEnv) {
  // Sign what the last checkpoint does not cover yet, then verify the whole log.
  await run([cli, 'checkpoint'], { extraEnv, okCodes: [0, 1, 2, 3] });
  const v = await run([cli, 'verify'], { extraEnv, okCodes: [0, 1, 3] });
  return { 0: 'OK', 1: 'BROKEN', 3: 'UNSIGNED' }[v.code];
}

function summarizeProof(p) {
  if (p === null || typeof p !== 'object') return 'none';
  const size = p.checkpoint?.tree_size ?? p.tree_size ?? p.treeSize;
  const index = p.leaf_index ?? p.leafIndex ?? p.proof?.leaf_index;
  return `leaf ${index ?? '?'} of a signed tree of ${size ?? '?'}`;
}

function startGateway({ cli, root, env, show }, extraEnv) {
  const args = [cli, 'gateway', '--port', '0'];
  show(args);
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...env, ...extraEnv, PROVABLY_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logLines = 0;
  child.stderr.on('data', (chunk) => {
    logLines += String(chunk).split('\n').filter(Boolean).length;
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  let stdout = '';
  // The gateway prints its dashboard's URL on a second line when it serves one.
  const dashboard = () =>
    new Promise((resolve) => {
      const find = () => /reviewer dashboard: (\S+)/.exec(stdout)?.[1];
      const timer = setTimeout(() => resolve(find()), 500);
      child.stdout.on('data', () => {
        if (find() !== undefined) {
          clearTimeout(timer);
          resolve(find());
        }
      });
      if (find() !== undefined) {
        clearTimeout(timer);
        resolve(find());
      }
    });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const m = /listening on (\S+)/.exec(stdout);
      if (m)
        resolve({
          url: m[1].replace(/\/$/, ''),
          dashboard,
          logLines: () => logLines,
          stop: async () => {
            child.kill('SIGTERM');
            await exited;
          },
        });
    });
    child.on('exit', (code) => reject(new Error(`provably gateway exited with ${code}`)));
  });
}
