/** `provably audit list|show`: the policy decision trail (provably_decisions). */
import type { Command } from 'commander';
import { defaultOrgId } from '../../config/index.js';
import { ProvablyConfigError } from '../../errors/index.js';
import {
  childEvents,
  type Decision,
  type DecisionEvent,
  decisionRow,
  getDecisionEvent,
  listDecisionEvents,
} from '../../policy/index.js';
import { listIntercepts } from '../../record/index.js';
import type { CommandContext } from '../context.js';
import { table } from '../output.js';
import { parseLimit, parseTime } from '../parse-options.js';

interface ListOptions {
  org?: string;
  agent?: string;
  action?: string;
  decision?: string;
  session?: string;
  since?: string;
  until?: string;
  limit?: string;
  json?: boolean;
}

export function registerAuditCommands(program: Command, ctx: CommandContext): void {
  const audit = program.command('audit').description('read the policy decision trail');

  audit
    .command('list')
    .description('list decision events, newest first')
    .option('--org <org>', 'organisation / tenant (default: $PROVABLY_ORG_ID or "default")')
    .option('--agent <agentId>', 'only this agent')
    .option('--action <name>', 'only this action')
    .option('--decision <d>', 'only ALLOW, BLOCK or ESCALATE')
    .option('--session <id>', 'only this session')
    .option('--since <time>', 'only events at or after this ISO-8601 time')
    .option('--until <time>', 'only events before this ISO-8601 time')
    .option('--limit <n>', 'at most this many (default 100, max 1000)')
    .option('--json', 'print JSON')
    .action((opts: ListOptions) =>
      ctx.run(opts.json, async (out, store) => {
        const events = await listDecisionEvents(store, {
          orgId: opts.org ?? defaultOrgId(),
          agentId: opts.agent,
          actionName: opts.action,
          decision: opts.decision === undefined ? undefined : parseDecision(opts.decision),
          sessionId: opts.session,
          since: opts.since === undefined ? undefined : parseTime('--since', opts.since),
          until: opts.until === undefined ? undefined : parseTime('--until', opts.until),
          limit: opts.limit === undefined ? undefined : parseLimit(opts.limit),
        });
        if (out.json) return out.data(events.map(serialize));
        if (events.length === 0) return out.warn('no decision events');
        out.line(
          table(
            ['DECIDED', 'TYPE', 'DECISION', 'AGENT', 'ACTION', 'SESSION', 'REASON', 'EVENT'],
            events.map((e) => [
              e.decidedAt.toISOString(),
              e.eventType,
              e.decision === null ? '-' : `${e.decision}${e.mode === 'log_only' ? ' (log-only)' : ''}`,
              e.agentId,
              e.actionName,
              e.sessionId ?? '-',
              e.reason.length > 60 ? `${e.reason.slice(0, 59)}…` : e.reason,
              e.id,
            ]),
          ),
        );
      }),
    );

  audit
    .command('show <eventId>')
    .description(
      'one decision event: params, policy version, leaf, what followed it, and the calls in its trace',
    )
    .option('--json', 'print JSON')
    .action((eventId: string, opts: { json?: boolean }) =>
      ctx.run(opts.json, async (out, store) => {
        const event = await getDecisionEvent(store, eventId);
        if (event === null) {
          out.warn(`no decision event with id ${eventId}`);
          ctx.setExitCode(1);
          return;
        }
        const followed = await childEvents(store, event.id);
        const calls =
          event.traceId === null
            ? []
            : await listIntercepts(store, {
                orgId: event.orgId,
                traceId: event.traceId,
                order: 'asc',
                limit: 1000,
              });
        if (out.json) {
          return out.data({
            event: serialize(event),
            followed_by: followed.map(serialize),
            intercepts: calls.map((c) => ({
              id: c.id,
              method: c.method,
              url: c.url,
              status: c.status,
              action_name: c.actionName,
              started_at: c.startedAt.toISOString(),
            })),
          });
        }
        const c = out.color;
        out.line(
          c.bold(`${event.eventType} ${event.decision ?? ''} ${event.actionName}`.replace(/\s+/g, ' ')),
        );
        out.line(`event         ${event.id} (leaf ${event.leafIndex ?? '-'})`);
        out.line(`org / agent   ${event.orgId} / ${event.agentId}`);
        out.line(`session       ${event.sessionId ?? '-'}`);
        out.line(
          `decided       ${event.decidedAt.toISOString()}${event.durationMs === null ? '' : ` (${event.durationMs} ms)`}`,
        );
        out.line(`reason        ${event.reason}`);
        out.line(`mode          ${event.mode}`);
        out.line(
          `policy        ${event.policyVersion}${event.policyIds.length ? ` [${event.policyIds.join(', ')}]` : ''}`,
        );
        if (event.escalationId)
          out.line(
            `escalation    ${event.escalationId} ${event.escalationStatus ?? ''}${event.reviewer ? ` by ${event.reviewer}` : ''}`,
          );
        if (event.parentId) out.line(`follows       ${event.parentId}`);
        if (event.outcome) out.line(`outcome       ${JSON.stringify(event.outcome)}`);
        out.line(`trace / span  ${event.traceId ?? '-'} / ${event.spanId ?? '-'}`);
        out.line(`params        ${JSON.stringify(event.params)} (sha256 ${event.paramsSha256})`);
        for (const f of followed)
          out.line(`then          ${f.eventType} ${f.decision ?? ''} ${f.reason} (${f.id})`);
        if (calls.length > 0) {
          out.line(c.dim('calls in this trace'));
          for (const call of calls)
            out.line(`  ${call.method} ${call.url} → ${call.status ?? call.error ?? '-'} (${call.id})`);
        }
      }),
    );
}

function serialize(e: DecisionEvent) {
  // The row's own column names, as the leaf has them (decisionRow), plus what only reads carry.
  return { ...decisionRow(e), decided_at: e.decidedAt.toISOString(), leaf_index: e.leafIndex ?? null };
}

function parseDecision(v: string): Decision {
  const d = v.toUpperCase();
  if (d !== 'ALLOW' && d !== 'BLOCK' && d !== 'ESCALATE') {
    throw new ProvablyConfigError(
      '--decision',
      `expected ALLOW, BLOCK or ESCALATE, got ${JSON.stringify(v)}`,
    );
  }
  return d;
}
