// `npm run demo`: the main job end to end on the embedded store (PGlite, no server needed).
//  1. starts a local fake CRM and an unregistered "exfiltration" server,
//  2. registers the CRM's endpoint with the `provably` CLI,
//  3. starts the eval service (`provably serve`) in another process, trusting the agent's key,
//  4. runs the example agent under `node --import provably/register`: scoped tool calls are
//     recorded, the unscoped call passes through, the untrusted call is blocked, and the agent's
//     claims travel to the eval service as a handoff with proofs → PASS,
//  5. runs it again with a lying tool (body hook) → CAUGHT (value),
//  6. rewrites a recorded row directly in the database → `provably verify` names it, and the
//     rebuilt handoff → CAUGHT (proof),
//  7. the policy gateway (examples/demo-gateway.mjs): a guarded payments tool in remote mode →
//     ALLOW (its HTTP call recorded in the same trace), BLOCK, an ESCALATE approved over REST by a
//     reviewer key, one that expires → EscalationTimeoutError; `provably verify` over both logs.
// It uses a fresh data dir each run (or PROVABLY_DATA_DIR when set) and prints it, so you can
// look around afterwards with the same CLI.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gatewayDemo } from './demo-gateway.mjs';
import { startFakeCrm } from './fake-crm.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/cli.js');
const work = mkdtempSync(join(tmpdir(), 'provably-demo-'));
const dataDir = process.env.PROVABLY_DATA_DIR || join(work, '.provably');
const env = {
  ...process.env,
  PROVABLY_DATA_DIR: dataDir,
  PROVABLY_ORG_ID: process.env.PROVABLY_ORG_ID || 'demo',
};
delete env.PROVABLY_DATABASE_URL;
delete env.POSTGRES_URL;
delete env.NODE_OPTIONS;

const step = (title) => process.stdout.write(`\n== ${title}\n`);
const show = (args) => process.stdout.write(`$ ${args.map((a) => a.replace(`${root}/`, '')).join(' ')}\n`);

// Asynchronous on purpose: the fake servers live in this process and must keep answering while
// a child runs. Resolves with the child's stdout (also echoed) and its exit code.
function run(args, { extraEnv = {}, quiet = false, live = false, okCodes = [0] } = {}) {
  if (!quiet) show(args);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (!quiet || live) process.stdout.write(chunk);
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      okCodes.includes(code)
        ? resolve({ stdout, code })
        : reject(new Error(`${args.join(' ')} exited with ${code}`)),
    );
  });
}

// The eval service: another process with its own store (an embedded data dir belongs to one
// process), judging payloads by their proofs against the agent's public key.
function startService(keyFile) {
  const args = [cli, 'serve', '--port', '0', '--independent', '--trusted-key', keyFile];
  show(args);
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...env, PROVABLY_DATA_DIR: join(work, 'eval-service') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logLines = 0;
  child.stderr.on('data', (chunk) => {
    logLines += String(chunk).split('\n').filter(Boolean).length;
  });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      const m = /listening on (\S+)/.exec(String(chunk));
      if (m) resolve({ url: m[1], stop: () => child.kill('SIGTERM'), logLines: () => logLines });
    });
    child.on('exit', (code) => reject(new Error(`provably serve exited with ${code}`)));
  });
}

const servers = await startFakeCrm();
let service;
const verdicts = {};
try {
  step(`embedded store in ${dataDir}`);
  step('register the CRM endpoint (a template: one customer id segment)');
  await run([cli, 'endpoints', 'add', `${servers.crmUrl}/customers/{id}`, '--label', 'CRM: one customer']);
  await run([cli, 'endpoints', 'list']);

  step("the agent's checkpoint key (verifiers need only the public half)");
  const key = JSON.parse((await run([cli, 'keys', 'show', '--json'], { quiet: true })).stdout);
  const keyFile = join(work, 'agent-public-key.pem');
  writeFileSync(keyFile, key.public_key_pem);
  process.stdout.write(`key id ${key.key_id}, public key saved to ${keyFile}\n`);

  step('start the eval service in another process');
  service = await startService(keyFile);
  process.stdout.write(`eval service at ${service.url}\n`);

  const agentEnv = { CRM_URL: servers.crmUrl, EXFIL_URL: servers.exfilUrl, SERVE_URL: service.url };
  const honestPayload = join(work, 'handoff-honest.json');
  step('run the agent under the preload (honest tools)');
  show(['node', '--import', 'provably/register', 'examples/agent.mjs']);
  const honest = await run(['--import', 'provably/register', 'examples/agent.mjs'], {
    quiet: true,
    extraEnv: { ...agentEnv, HANDOFF_OUT: honestPayload },
  });
  process.stdout.write(honest.stdout);
  verdicts.honest = /eval service: (\w+)/.exec(honest.stdout)?.[1];

  step('what was recorded');
  await run([cli, 'intercepts', 'list']);

  step('what the servers saw');
  const leaked = servers.exfil.connections + servers.exfil.requests;
  process.stdout.write(`CRM:   ${servers.crm.requests} requests (${servers.crm.paths.join(', ')})\n`);
  process.stdout.write(
    `exfil: ${servers.exfil.connections} connections, ${servers.exfil.requests} requests\n`,
  );

  step('run it again with a lying tool (the body hook doctors what the agent sees)');
  show(['LIE=1', 'node', '--import', 'provably/register', 'examples/agent.mjs']);
  const lying = await run(['--import', 'provably/register', 'examples/agent.mjs'], {
    quiet: true,
    extraEnv: { ...agentEnv, LIE: '1' },
  });
  process.stdout.write(lying.stdout);
  verdicts.lying = /eval service: (\w+)/.exec(lying.stdout)?.[1];

  step('a database superuser rewrites a recorded response');
  const saved = JSON.parse(readFileSync(honestPayload, 'utf8'));
  const target = saved.claims.find((c) => c.action_name === 'get_customer').query_record_id;
  await run(['examples/tamper.mjs', target]);
  // 0 verified, 1 tampering found, 3 healthy but the newest records are not signed yet.
  const verify = await run([cli, 'verify'], { okCodes: [0, 1, 3] });
  verdicts.verify = { 0: 'OK', 1: 'BROKEN', 3: 'UNSIGNED' }[verify.code];
  const rebuilt = await run(['examples/rebuild-handoff.mjs', honestPayload], {
    extraEnv: { SERVE_URL: service.url },
  });
  verdicts.tampered = /eval service: (\w+)/.exec(rebuilt.stdout)?.[1];

  const gw = await gatewayDemo({ cli, root, work, env, run, show, step, paymentsUrl: servers.crmUrl });

  step('summary');
  const expect = { honest: 'PASS', lying: 'CAUGHT', verify: 'BROKEN', tampered: 'CAUGHT' };
  const gatewayExpect = {
    allow: 'ALLOW',
    block: 'BLOCK',
    approved: 'ALLOW',
    expired: 'TIMEOUT',
    sameTrace: true,
    verifyGateway: 'OK',
    verifyAgent: 'OK',
  };
  const lines = [
    ['untrusted call blocked before any byte left', leaked === 0 ? 'yes' : 'NO'],
    ['honest claims', verdicts.honest],
    ['lying tool', `${verdicts.lying} (value)`],
    ['provably verify after the edit', verdicts.verify],
    ['rebuilt handoff after the edit', `${verdicts.tampered} (proof)`],
    ['gateway: pay 50 GBP', gw.allow],
    ['gateway: pay 20 BTC', gw.block],
    ['gateway: pay 500 GBP (approved over REST)', gw.approved],
    ['gateway: refund (nobody decides, 3 s hold)', gw.expired],
    ['guarded HTTP call in the decision trace', gw.sameTrace ? 'yes' : 'NO'],
    ['provably verify: gateway decisions', gw.verifyGateway],
    ['provably verify: agent intercepts', gw.verifyAgent],
    ...(gw.browser === undefined
      ? []
      : [['gateway: pay 750 GBP (decided by you in the dashboard)', gw.browser]]),
  ];
  for (const [what, result] of lines) process.stdout.write(`${what.padEnd(46)} ${result}\n`);
  process.stdout.write(`eval service log lines (JSON): ${service.logLines()}\n`);
  process.stdout.write(
    `\nLook around: PROVABLY_DATA_DIR=${dataDir} PROVABLY_ORG_ID=${env.PROVABLY_ORG_ID} npx provably intercepts list\n`,
  );
  process.stdout.write(
    `             PROVABLY_DATA_DIR=${gw.gatewayDir} PROVABLY_ORG_ID=demo npx provably audit list   (the gateway's decisions)\n`,
  );
  const ok =
    leaked === 0 &&
    Object.entries(expect).every(([k, v]) => verdicts[k] === v) &&
    Object.entries(gatewayExpect).every(([k, v]) => gw[k] === v);
  if (!ok) {
    process.stdout.write('\nFAILED: the demo did not come out as expected.\n');
    process.exitCode = 1;
  }
} finally {
  service?.stop();
  await servers.close();
}
