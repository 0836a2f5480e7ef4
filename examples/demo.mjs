// `npm run demo`: the main job end to end on the embedded store (PGlite, no server needed).
// 1. starts a local fake CRM and an unregistered "exfiltration" server,
// 2. registers the CRM's endpoint with the `provably` CLI,
// 3. runs the example agent under `node --import provably/register`,
// 4. prints what was recorded, passed through and blocked.
// It uses a fresh data dir each run (or PROVABLY_DATA_DIR when set) and prints it, so you can
// look around afterwards with the same CLI.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeCrm } from './fake-crm.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/cli.js');
const dataDir =
  process.env.PROVABLY_DATA_DIR || join(mkdtempSync(join(tmpdir(), 'provably-demo-')), '.provably');
const env = {
  ...process.env,
  PROVABLY_DATA_DIR: dataDir,
  PROVABLY_ORG_ID: process.env.PROVABLY_ORG_ID || 'demo',
};
delete env.PROVABLY_DATABASE_URL;
delete env.POSTGRES_URL;

function step(title) {
  process.stdout.write(`\n== ${title}\n`);
}

// Asynchronous on purpose: the fake servers live in this process and must keep answering
// while a child runs.
function run(args, { showCommand = true, extraEnv = {} } = {}) {
  if (showCommand) process.stdout.write(`$ ${args.map((a) => a.replace(`${root}/`, '')).join(' ')}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${args.join(' ')} exited with ${code}`)),
    );
  });
}

const servers = await startFakeCrm();
try {
  step(`embedded store in ${dataDir}`);
  step('register the CRM endpoint (a template: one customer id segment)');
  await run([cli, 'endpoints', 'add', `${servers.crmUrl}/customers/{id}`, '--label', 'CRM: one customer']);
  await run([cli, 'endpoints', 'list']);

  step('run the agent under the preload');
  process.stdout.write('$ node --import provably/register examples/agent.mjs\n');
  await run(['--import', 'provably/register', 'examples/agent.mjs'], {
    showCommand: false,
    extraEnv: { CRM_URL: servers.crmUrl, EXFIL_URL: servers.exfilUrl },
  });

  step('what was recorded');
  await run([cli, 'intercepts', 'list']);

  step('what the servers saw');
  const leaked = servers.exfil.connections + servers.exfil.requests;
  process.stdout.write(`CRM:   ${servers.crm.requests} requests (${servers.crm.paths.join(', ')})\n`);
  process.stdout.write(
    `exfil: ${servers.exfil.connections} connections, ${servers.exfil.requests} requests\n`,
  );
  process.stdout.write(
    leaked === 0
      ? '\nThe untrusted call was blocked before any byte left; the unscoped /health call passed through unrecorded.\n'
      : '\nFAILED: the unregistered server was reached.\n',
  );
  process.stdout.write(
    `\nLook around: PROVABLY_DATA_DIR=${dataDir} PROVABLY_ORG_ID=${env.PROVABLY_ORG_ID} npx provably intercepts show <id>\n`,
  );
  if (leaked !== 0) process.exitCode = 1;
} finally {
  await servers.close();
}
