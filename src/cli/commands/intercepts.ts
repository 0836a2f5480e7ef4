import type { Command } from 'commander';
import { defaultOrgId } from '../../config/index.js';
import { ProvablyConfigError } from '../../errors/index.js';
import { decodeBody, getIntercept, type InterceptRecord, listIntercepts } from '../../record/index.js';
import type { CommandContext } from '../context.js';
import { table } from '../output.js';
import { parseTime } from '../parse-options.js';
import { registerInterceptProof } from './intercept-proof.js';

const PREVIEW_BYTES = 2048;

interface ListOptions {
  org?: string;
  agent?: string;
  action?: string;
  trace?: string;
  since?: string;
  limit?: string;
  json?: boolean;
}

export function registerInterceptCommands(program: Command, ctx: CommandContext): void {
  const intercepts = program.command('intercepts').description('read the recorded governed calls');

  intercepts
    .command('list')
    .description('list recorded calls, newest first')
    .option('--org <org>', 'organisation id (default: $PROVABLY_ORG_ID or "default")')
    .option('--agent <agentId>', 'only this agent')
    .option('--action <actionName>', 'only this action')
    .option('--trace <traceId>', 'only this trace')
    .option('--since <time>', 'only calls started at or after this ISO-8601 time')
    .option('--limit <n>', 'at most this many rows (default 100)')
    .option('--json', 'print JSON (bodies as base64)')
    .action((opts: ListOptions) =>
      ctx.run(opts.json, async (out, store) => {
        const rows = await listIntercepts(store, {
          orgId: opts.org ?? defaultOrgId(),
          agentId: opts.agent,
          actionName: opts.action,
          traceId: opts.trace,
          since: opts.since === undefined ? undefined : parseTime('--since', opts.since),
          limit: opts.limit === undefined ? undefined : parseLimit(opts.limit),
          withBody: opts.json === true,
        });
        if (out.json) return out.data(rows.map((r) => serialize(r)));
        if (rows.length === 0) return out.warn('no recorded calls');
        out.line(
          table(
            ['STARTED', 'AGENT', 'ACTION', 'METHOD', 'STATUS', 'BYTES', 'URL', 'ID'],
            rows.map((r) => [
              r.startedAt.toISOString(),
              r.agentId,
              r.interceptIndex === null ? r.actionName : `${r.actionName}#${r.interceptIndex}`,
              r.method,
              r.error ? out.color.red('error') : String(r.status ?? ''),
              `${r.bodySize}${r.bodyTruncated ? '+' : ''}`,
              r.url,
              r.id,
            ]),
          ),
        );
      }),
    );

  intercepts
    .command('show <id>')
    .description('show one recorded call: headers, trace ids and a decoded body preview')
    .option('--org <org>', 'organisation id (default: any)')
    .option('--json', 'print JSON (body as base64)')
    .action((id: string, opts: { org?: string; json?: boolean }) =>
      ctx.run(opts.json, async (out, store) => {
        const record = await getIntercept(store, id, { orgId: opts.org });
        if (!record) {
          out.warn(`no recorded call with id ${id}`);
          ctx.setExitCode(1);
          return;
        }
        if (out.json) return out.data(serialize(record));
        const c = out.color;
        out.line(`${c.bold(`${record.method} ${record.url}`)}`);
        out.line(`id            ${record.id}`);
        out.line(`org / agent   ${record.orgId} / ${record.agentId}`);
        out.line(
          `action        ${record.actionName}${record.interceptIndex === null ? '' : ` (index ${record.interceptIndex})`}`,
        );
        out.line(`trace / span  ${record.traceId ?? '-'} / ${record.spanId ?? '-'}`);
        out.line(`started       ${record.startedAt.toISOString()} (${record.durationMs ?? '?'} ms)`);
        out.line(
          `status        ${record.status ?? '-'}${record.error ? `  ${c.red(`error: ${record.error}`)}` : ''}`,
        );
        out.line(`answered by   ${describePeer(record)}`);
        out.line(
          `body          ${record.bodySize} bytes${record.bodyTruncated ? ' (truncated in the record)' : ''}, sha256 ${record.bodySha256 ?? '-'}, encoding ${record.contentEncoding ?? 'identity'}`,
        );
        out.line();
        out.line(c.dim('request headers'));
        for (const [k, v] of Object.entries(record.requestHeaders)) out.line(`  ${k}: ${String(v)}`);
        out.line(c.dim('response headers'));
        for (const [k, v] of Object.entries(record.responseHeaders ?? {})) out.line(`  ${k}: ${String(v)}`);
        out.line();
        out.line(c.dim('body preview'));
        out.line(preview(record));
      }),
    );
  registerInterceptProof(intercepts, ctx);
}

/** Who answered, on one line; says when the record predates peers (leaf version 1). */
function describePeer(record: InterceptRecord): string {
  const p = record.peer;
  if (p === null)
    return record.leafVersion === 1 ? '- (recorded before peers were kept)' : '- (no connection)';
  const where = p.port === null ? (p.address ?? '?') : `${p.address ?? '?'}:${p.port}`;
  const parts = [`${where} ${p.protocol ?? '?'}`];
  if (p.tls !== null) {
    parts.push(`tls cert sha256 ${p.tls.certSha256 ?? '-'}, subject ${p.tls.subject ?? '-'}`);
    if (p.tls.subjectAltName !== null) parts.push(`san ${p.tls.subjectAltName}`);
  } else parts.push('no tls');
  if (p.proxy !== null) parts.push(`via proxy ${p.proxy}`);
  return parts.join('; ');
}

function preview(record: InterceptRecord): string {
  if (!record.responseBody || record.responseBody.length === 0) return '(empty)';
  try {
    const decoded = decodeBody(record);
    const text = Buffer.from(decoded.subarray(0, PREVIEW_BYTES)).toString('utf8');
    return decoded.length > PREVIEW_BYTES
      ? `${text}\n… (${decoded.length - PREVIEW_BYTES} more bytes)`
      : text;
  } catch (err) {
    return `(body not decodable: ${err instanceof Error ? err.message : String(err)})`;
  }
}

function serialize(r: InterceptRecord) {
  return {
    id: r.id,
    org_id: r.orgId,
    agent_id: r.agentId,
    action_name: r.actionName,
    intercept_index: r.interceptIndex,
    trace_id: r.traceId,
    span_id: r.spanId,
    method: r.method,
    url: r.url,
    status: r.status,
    request_headers: r.requestHeaders,
    response_headers: r.responseHeaders,
    response_body_base64: r.responseBody ? Buffer.from(r.responseBody).toString('base64') : null,
    content_encoding: r.contentEncoding,
    body_sha256: r.bodySha256,
    body_size: r.bodySize,
    body_truncated: r.bodyTruncated,
    error: r.error,
    started_at: r.startedAt.toISOString(),
    duration_ms: r.durationMs,
    created_at: r.createdAt.toISOString(),
    leaf_version: r.leafVersion,
    peer:
      r.peer === null
        ? null
        : {
            address: r.peer.address,
            port: r.peer.port,
            protocol: r.peer.protocol,
            tls:
              r.peer.tls === null
                ? null
                : {
                    cert_sha256: r.peer.tls.certSha256,
                    subject: r.peer.tls.subject,
                    subject_alt_name: r.peer.tls.subjectAltName,
                  },
            proxy: r.peer.proxy,
          },
  };
}

function parseLimit(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new ProvablyConfigError('--limit', `expected a positive integer, got ${JSON.stringify(value)}`);
  return Number(value);
}
