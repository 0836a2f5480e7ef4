/** `provably escalations list|approve|reject`: the human side of ESCALATE. */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { defaultOrgId } from '../../config/index.js';
import { ProvablyConfigError } from '../../errors/index.js';
import {
  decideEscalation,
  type Escalation,
  type EscalationStatus,
  listEscalations,
} from '../../policy/index.js';
import type { CommandContext } from '../context.js';
import { table } from '../output.js';
import { parseLimit } from '../parse-options.js';

const STATUSES = new Set(['pending', 'approved', 'rejected', 'expired']);

interface DecideOptions {
  reason: string;
  reviewer?: string;
  paramsSha256?: string;
  org?: string;
  json?: boolean;
}

export function registerEscalationCommands(program: Command, ctx: CommandContext): void {
  const esc = program.command('escalations').description('list, approve and reject held actions');

  esc
    .command('list')
    .description('escalations, newest first (with their params and the hash an approval binds)')
    .option('--org <org>', 'organisation / tenant (default: $PROVABLY_ORG_ID or "default")')
    .option('--status <status>', 'only pending, approved, rejected or expired')
    .option('--limit <n>', 'at most this many (default 100)')
    .option('--json', 'print JSON')
    .action((opts: { org?: string; status?: string; limit?: string; json?: boolean }) =>
      ctx.run(opts.json, async (out, store) => {
        if (opts.status !== undefined && !STATUSES.has(opts.status)) {
          throw new ProvablyConfigError(
            '--status',
            `expected pending, approved, rejected or expired, got ${JSON.stringify(opts.status)}`,
          );
        }
        const rows = await listEscalations(store, {
          orgId: opts.org ?? defaultOrgId(),
          status: opts.status as EscalationStatus | undefined,
          limit: opts.limit === undefined ? undefined : parseLimit(opts.limit),
        });
        if (out.json) return out.data(rows.map(serialize));
        if (rows.length === 0) return out.warn('no escalations');
        out.line(
          table(
            ['CREATED', 'STATUS', 'EXPIRES', 'AGENT', 'ACTION', 'PARAMS', 'REASON', 'ID'],
            rows.map((r) => [
              r.createdAt.toISOString(),
              r.status === 'pending' && r.remainingMs <= 0 ? 'pending (due)' : r.status,
              r.expiresAt.toISOString(),
              r.agentId,
              r.actionName,
              short(JSON.stringify(r.params), 50),
              short(r.reason, 40),
              r.id,
            ]),
          ),
        );
      }),
    );

  for (const decision of ['approve', 'reject'] as const) {
    esc
      .command(`${decision} <id>`)
      .description(`${decision} a pending escalation (only before it expires; the waiting agent wakes)`)
      .requiredOption('--reason <text>', 'why (recorded in the audit trail)')
      .option('--reviewer <name>', 'who decides (default: $PROVABLY_REVIEWER or the OS user)')
      .option('--params-sha256 <hex>', 'refuse unless the held params have this hash (what you were shown)')
      .option('--org <org>', 'refuse an escalation of another organisation')
      .option('--json', 'print JSON')
      .action((id: string, opts: DecideOptions) =>
        ctx.run(opts.json, async (out, store) => {
          const { escalation, event } = await decideEscalation(store, {
            id,
            decision,
            reviewer: opts.reviewer ?? process.env.PROVABLY_REVIEWER ?? userInfo().username,
            reason: opts.reason,
            paramsSha256: opts.paramsSha256,
            orgId: opts.org,
          });
          if (out.json) return out.data({ escalation: serialize(escalation), event_id: event.id });
          out.line(
            `${escalation.status} ${escalation.id} (${escalation.actionName}) by ${escalation.reviewer}; event ${event.id}`,
          );
        }),
      );
  }
}

function serialize(r: Escalation) {
  return {
    id: r.id,
    org_id: r.orgId,
    event_id: r.eventId,
    agent_id: r.agentId,
    action_name: r.actionName,
    session_id: r.sessionId,
    params: r.params,
    params_sha256: r.paramsSha256,
    reason: r.reason,
    policy_version: r.policyVersion,
    status: r.status,
    created_at: r.createdAt.toISOString(),
    expires_at: r.expiresAt.toISOString(),
    decided_at: r.decidedAt?.toISOString() ?? null,
    reviewer: r.reviewer,
    decision_reason: r.decisionReason,
    decision_event_id: r.decisionEventId,
  };
}

function short(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
