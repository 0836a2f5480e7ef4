/**
 * `provably gateway` (the multi-tenant policy gateway), `provably tenants create|list`,
 * `provably apikeys create|list|revoke`, `provably policy push`: the operator's side of
 * src/gateway. Keys are printed once, at creation; the store keeps only their hash.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { readPositiveInt } from '../../config/index.js';
import { ProvablyConfigError } from '../../errors/index.js';
import {
  API_ROLES,
  type ApiKeyInfo,
  type ApiRole,
  createApiKey,
  listApiKeys,
  revokeApiKey,
} from '../../gateway/auth.js';
import {
  DEFAULT_GATEWAY_HOST,
  DEFAULT_GATEWAY_PORT,
  DEFAULT_KEY_CACHE_MS,
  DEFAULT_POLICY_REFRESH_MS,
  DEFAULT_SWEEP_MS,
} from '../../gateway/defaults.js';
import { putPolicySet } from '../../gateway/policy-sets.js';
import { createTenant, getTenant, listTenants } from '../../gateway/tenants.js';
import { loadSigner } from '../../ledger/index.js';
import { readPolicyMode } from '../../policy/index.js';
import { closeDefaultStore, getDefaultStore } from '../../store/index.js';
import type { CommandContext } from '../context.js';
import { createOutput, describeFailure, exitCodeFor, table } from '../output.js';
import { stopOnSignals } from '../service.js';

export function registerGatewayCommands(program: Command, ctx: CommandContext): void {
  program
    .command('gateway')
    .description(
      'run the policy gateway: POST /v1/execute, escalations, audit, policies (multi-tenant, API keys)',
    )
    .option('--port <port>', `port (default ${DEFAULT_GATEWAY_PORT}; 0 picks a free one)`)
    .option('--host <host>', `address to listen on (default ${DEFAULT_GATEWAY_HOST})`)
    .option(
      '--no-checkpoints',
      'do not sign checkpoints (by default the gateway signs every log with unsigned records, like serve)',
    )
    .action(async (opts: { port?: string; host?: string; checkpoints?: boolean }) => {
      try {
        const port = opts.port === undefined ? DEFAULT_GATEWAY_PORT : parsePort(opts.port);
        const mode = readPolicyMode();
        const store = getDefaultStore();
        // Open (and migrate) before listening: an unusable store stops the command with its reason.
        await store.query('SELECT 1');
        // The server (Hono, the eval service's log and signer) loads only for this command.
        const { jsonLineLog, startCheckpointSigner } = await import('../../server/index.js');
        const { startGatewayServer } = await import('../../gateway/serve.js');
        const log = jsonLineLog((l) => ctx.streams.stderr(l));
        let key: ReturnType<typeof loadSigner> | undefined;
        const signer = () => {
          key ??= loadSigner();
          return key;
        };
        const checkpoints =
          opts.checkpoints === false ? undefined : startCheckpointSigner({ store, signer, log });
        const server = await startGatewayServer({
          store,
          port,
          host: opts.host,
          log,
          mode,
          signer: opts.checkpoints === false ? undefined : signer,
          pollMs: readPositiveInt(process.env, 'PROVABLY_GATEWAY_POLL_MS', 1000),
          sweepMs: readPositiveInt(process.env, 'PROVABLY_GATEWAY_SWEEP_MS', DEFAULT_SWEEP_MS),
          keyCacheMs: readNonNegativeInt(
            process.env.PROVABLY_GATEWAY_KEY_CACHE_MS,
            DEFAULT_KEY_CACHE_MS,
            'PROVABLY_GATEWAY_KEY_CACHE_MS',
          ),
          policyRefreshMs: readNonNegativeInt(
            process.env.PROVABLY_GATEWAY_POLICY_REFRESH_MS,
            DEFAULT_POLICY_REFRESH_MS,
            'PROVABLY_GATEWAY_POLICY_REFRESH_MS',
          ),
        });
        createOutput(false, ctx.streams).line(`provably gateway listening on ${server.url}`);
        createOutput(false, ctx.streams).line(`reviewer dashboard: ${server.url}/ui`);
        stopOnSignals(checkpoints, server);
      } catch (err) {
        ctx.streams.stderr(`provably: ${describeFailure(err)}\n`);
        ctx.setExitCode(exitCodeFor(err));
        await closeDefaultStore().catch(() => {});
      }
    });

  const tenants = program.command('tenants').description('gateway tenants (a tenant is a ledger org)');
  tenants
    .command('create <name>')
    .description('create a tenant (id: --id, else derived from the name)')
    .option('--id <id>', 'the tenant / org id')
    .option('--json', 'print JSON')
    .action((name: string, opts: { id?: string; json?: boolean }) =>
      ctx.run(opts.json, async (out, store) => {
        const t = await createTenant(store, { name, id: opts.id });
        if (out.json) return out.data({ id: t.id, name: t.name, created_at: t.createdAt.toISOString() });
        out.line(`tenant ${t.id} (${t.name}) created`);
      }),
    );
  tenants
    .command('list')
    .description('every tenant')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      ctx.run(opts.json, async (out, store) => {
        const rows = await listTenants(store);
        if (out.json) {
          return out.data(
            rows.map((t) => ({ id: t.id, name: t.name, created_at: t.createdAt.toISOString() })),
          );
        }
        if (rows.length === 0) return out.warn('no tenants (provably tenants create <name>)');
        out.line(
          table(
            ['ID', 'NAME', 'CREATED'],
            rows.map((t) => [t.id, t.name, t.createdAt.toISOString()]),
          ),
        );
      }),
    );

  const keys = program
    .command('apikeys')
    .description('gateway API keys (shown once; only their hash is kept)');
  keys
    .command('create')
    .description('create an API key and print it (once)')
    .requiredOption('--tenant <id>', 'the tenant the key belongs to')
    .requiredOption('--role <role>', 'agent, reviewer or admin')
    .option('--name <name>', 'a name (the reviewer identity recorded for its decisions)')
    .option('--agent <agentId>', 'bind an agent key to one agent id')
    .option('--json', 'print JSON')
    .action((opts: { tenant: string; role: string; name?: string; agent?: string; json?: boolean }) =>
      ctx.run(opts.json, async (out, store) => {
        if (!API_ROLES.includes(opts.role as ApiRole)) {
          throw new ProvablyConfigError(
            '--role',
            `expected agent, reviewer or admin, got ${JSON.stringify(opts.role)}`,
          );
        }
        const { key, info } = await createApiKey(store, {
          tenant: opts.tenant,
          role: opts.role as ApiRole,
          name: opts.name,
          agentId: opts.agent,
        });
        if (out.json) return out.data({ key, ...keyJson(info) });
        out.line(key);
        out.warn(
          `API key ${info.prefix} (${info.role}) for tenant ${info.tenant}: copy it now, it is not shown again`,
        );
      }),
    );
  keys
    .command('list')
    .description('API keys: prefix, role, name, created, revoked (never the key)')
    .option('--tenant <id>', 'only this tenant’s')
    .option('--json', 'print JSON')
    .action((opts: { tenant?: string; json?: boolean }) =>
      ctx.run(opts.json, async (out, store) => {
        const rows = await listApiKeys(store, { tenant: opts.tenant });
        if (out.json) return out.data(rows.map(keyJson));
        if (rows.length === 0) return out.warn('no API keys');
        out.line(
          table(
            ['PREFIX', 'TENANT', 'ROLE', 'NAME', 'AGENT', 'CREATED', 'REVOKED', 'ID'],
            rows.map((k) => [
              k.prefix,
              k.tenant,
              k.role,
              k.name ?? '',
              k.agentId ?? '',
              k.createdAt.toISOString(),
              k.revokedAt?.toISOString() ?? '',
              k.id,
            ]),
          ),
        );
      }),
    );
  keys
    .command('revoke <idOrPrefix>')
    .description('revoke a key by id or prefix: it answers 401 from then on')
    .option('--json', 'print JSON')
    .action((idOrPrefix: string, opts: { json?: boolean }) =>
      ctx.run(opts.json, async (out, store) => {
        const k = await revokeApiKey(store, idOrPrefix);
        if (k === null) throw new ProvablyConfigError('key', `no API key ${JSON.stringify(idOrPrefix)}`);
        if (out.json) return out.data(keyJson(k));
        out.line(`API key ${k.prefix} revoked at ${k.revokedAt?.toISOString()}`);
      }),
    );

  const policy = program.commands.find((c) => c.name() === 'policy') ?? program.command('policy');
  policy
    .command('push <file>')
    .description("store a policy set as a gateway tenant's next version (refused with line and column)")
    .requiredOption('--tenant <id>', 'the tenant')
    .option('--schema <file>', 'a .cedarschema file to validate against')
    .option('--by <name>', 'recorded as created_by (default: the OS user)')
    .option('--json', 'print JSON')
    .action((file: string, opts: { tenant: string; schema?: string; by?: string; json?: boolean }) =>
      ctx.run(opts.json, async (out, store) => {
        if ((await getTenant(store, opts.tenant)) === null) {
          throw new ProvablyConfigError('--tenant', `no tenant ${JSON.stringify(opts.tenant)}`);
        }
        const set = await putPolicySet(store, {
          tenant: opts.tenant,
          text: readText(file),
          schema: opts.schema === undefined ? null : readText(opts.schema),
          createdBy: opts.by ?? `cli:${process.env.USER ?? 'unknown'}`,
        });
        if (out.json) return out.data({ tenant: set.tenant, version: set.version, digest: set.digest });
        out.line(`tenant ${set.tenant}: policy version ${set.version} (${set.digest}) serving`);
      }),
    );
}

function keyJson(k: ApiKeyInfo) {
  return {
    id: k.id,
    tenant: k.tenant,
    role: k.role,
    name: k.name,
    agent_id: k.agentId,
    prefix: k.prefix,
    created_at: k.createdAt.toISOString(),
    revoked_at: k.revokedAt?.toISOString() ?? null,
  };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ProvablyConfigError('file', `cannot read ${file}: ${(err as Error).message}`);
  }
}

function readNonNegativeInt(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(Number(raw))) {
    throw new ProvablyConfigError(name, `expected milliseconds ≥ 0, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

function parsePort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) {
    throw new ProvablyConfigError('--port', `expected a port number 0-65535, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}
