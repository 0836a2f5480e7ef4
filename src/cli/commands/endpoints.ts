import type { Command } from 'commander';
import {
  addTrustedEndpoint,
  listTrustedEndpoints,
  removeTrustedEndpoint,
  type TrustedEndpoint,
} from '../../trust/index.js';
import type { CommandContext } from '../context.js';
import { table } from '../output.js';

interface OrgOption {
  org?: string;
}

export function registerEndpointCommands(program: Command, ctx: CommandContext): void {
  const endpoints = program
    .command('endpoints')
    .description('manage the trusted-endpoint registry (the URLs governed calls may reach)');

  endpoints
    .command('add <url>')
    .description('trust a URL or a template such as https://api.example.com/customers/{id}')
    .option('--label <label>', 'a human-readable label')
    .option('--org <org>', 'organisation id (default: $PROVABLY_ORG_ID or "default")')
    .option('--json', 'print the entry as JSON')
    .action((url: string, opts: OrgOption & { label?: string; json?: boolean }) =>
      ctx.run(opts.json, async (out, store) => {
        const { endpoint, created } = await addTrustedEndpoint(url, {
          orgId: opts.org,
          label: opts.label,
          store,
        });
        if (out.json) return out.data({ ...serialize(endpoint), created });
        const verb = created ? out.color.green('trusted') : 'already trusted';
        out.line(
          `${verb} ${endpoint.normalizedUrl}${endpoint.displayLabel ? ` (${endpoint.displayLabel})` : ''} [org ${endpoint.orgId}]`,
        );
      }),
    );

  endpoints
    .command('list')
    .description('list the trusted endpoints of an organisation')
    .option('--org <org>', 'organisation id (default: $PROVABLY_ORG_ID or "default")')
    .option('--all', 'include revoked entries')
    .option('--json', 'print JSON')
    .action((opts: OrgOption & { all?: boolean; json?: boolean }) =>
      ctx.run(opts.json, async (out, store) => {
        const list = await listTrustedEndpoints({ orgId: opts.org, store, includeRevoked: opts.all });
        if (out.json) return out.data(list.map(serialize));
        if (list.length === 0) {
          out.warn('no trusted endpoints (add one with: provably endpoints add <url>)');
          return;
        }
        const rows = list.map((e) => [
          e.revokedAt ? out.color.dim(e.normalizedUrl) : e.normalizedUrl,
          e.entryType,
          e.displayLabel ?? '',
          e.revokedAt ? `revoked ${e.revokedAt.toISOString()}` : `added ${e.createdAt.toISOString()}`,
        ]);
        out.line(table(['URL', 'TYPE', 'LABEL', 'STATUS'], rows));
      }),
    );

  endpoints
    .command('remove <url>')
    .description('revoke a trusted endpoint (the entry stays in the history, marked revoked)')
    .option('--org <org>', 'organisation id (default: $PROVABLY_ORG_ID or "default")')
    .option('--json', 'print JSON')
    .action((url: string, opts: OrgOption & { json?: boolean }) =>
      ctx.run(opts.json, async (out, store) => {
        const revoked = await removeTrustedEndpoint(url, { orgId: opts.org, store });
        if (out.json) return out.data({ revoked: revoked ? serialize(revoked) : null });
        if (!revoked) {
          out.warn(`not trusted: ${url} (nothing to remove)`);
          ctx.setExitCode(1);
          return;
        }
        out.line(`${out.color.red('revoked')} ${revoked.normalizedUrl} [org ${revoked.orgId}]`);
      }),
    );
}

function serialize(e: TrustedEndpoint) {
  return {
    id: e.id,
    org_id: e.orgId,
    normalized_url: e.normalizedUrl,
    display_label: e.displayLabel,
    entry_type: e.entryType,
    created_at: e.createdAt.toISOString(),
    revoked_at: e.revokedAt ? e.revokedAt.toISOString() : null,
  };
}
