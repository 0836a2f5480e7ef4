/** `provably policy check|test`: a policy set checked or asked, without recording anything. */
import type { Command } from 'commander';
import { defaultOrgId } from '../../config/index.js';
import { PolicySetError, ProvablyConfigError } from '../../errors/index.js';
import { normalizeParams, PolicyEngine } from '../../policy/index.js';
import type { CommandContext } from '../context.js';
import type { Output } from '../output.js';

export function registerPolicyCommands(program: Command, ctx: CommandContext): void {
  const policy = program
    .command('policy')
    .description('check and try Cedar policy sets (nothing is recorded)');

  policy
    .command('check <file>')
    .description(
      'parse the policy set (and validate it strictly against a schema): problems with line and column',
    )
    .option('--schema <file>', 'a .cedarschema file to validate against')
    .option('--json', 'print JSON')
    .action((file: string, opts: { schema?: string; json?: boolean }) =>
      ctx.run(opts.json, async (out) => {
        try {
          const engine = new PolicyEngine({
            policy: asPath(file),
            schema: schemaOf(opts.schema),
            watch: false,
            mode: 'enforce',
          });
          engine.close();
          if (out.json) return out.data({ ok: true, version: engine.version });
          out.line(`${out.color.green('OK')} ${file}: version ${engine.version}`);
        } catch (err) {
          if (!(err instanceof PolicySetError)) throw err;
          printProblems(out, file, err);
          ctx.setExitCode(2);
        }
      }),
    );

  policy
    .command('test <file>')
    .description('decide one request against the policy set and print the decision and reason')
    .requiredOption('--action <name>', 'the action (Cedar Action::"<name>")')
    .option('--params <json>', 'the params as a JSON object', '{}')
    .option('--agent <agentId>', 'the agent (default: $PROVABLY_AGENT_ID or "agent")')
    .option('--tenant <tenant>', 'the tenant (default: $PROVABLY_ORG_ID or "default")')
    .option('--session <id>', 'the session id (its counts are 0)', 'cli')
    .option('--schema <file>', 'a .cedarschema file to validate against')
    .option('--json', 'print JSON')
    .action(
      (
        file: string,
        opts: {
          action: string;
          params: string;
          agent?: string;
          tenant?: string;
          session: string;
          schema?: string;
          json?: boolean;
        },
      ) =>
        ctx.run(opts.json, async (out) => {
          let raw: unknown;
          try {
            raw = JSON.parse(opts.params);
          } catch (err) {
            throw new ProvablyConfigError('--params', `not JSON: ${(err as Error).message}`);
          }
          const params = normalizeParams(raw, '--params');
          let engine: PolicyEngine;
          try {
            engine = new PolicyEngine({ policy: asPath(file), schema: schemaOf(opts.schema), watch: false });
          } catch (err) {
            if (!(err instanceof PolicySetError)) throw err;
            printProblems(out, file, err);
            ctx.setExitCode(2);
            return;
          }
          engine.close();
          const d = engine.evaluate({
            agentId: opts.agent ?? process.env.PROVABLY_AGENT_ID ?? 'agent',
            action: opts.action,
            tenant: opts.tenant ?? defaultOrgId(),
            params,
            session: { id: opts.session, allowed: 0, blocked: 0, escalated: 0 },
          });
          if (out.json) return out.data(d);
          const c = out.color;
          const colored =
            d.decision === 'ALLOW'
              ? c.green(d.decision)
              : d.decision === 'BLOCK'
                ? c.red(d.decision)
                : c.bold(d.decision);
          out.line(`${colored}${d.mode === 'log_only' ? ' (log-only: not enforced)' : ''}: ${d.reason}`);
          if (d.holdSeconds !== undefined) out.line(`hold: ${d.holdSeconds} s`);
          if (d.policyIds.length > 0) out.line(`policies: ${d.policyIds.join(', ')}`);
          out.line(c.dim(`version ${d.policyVersion}`));
        }),
    );
}

/** A CLI argument is always a file (never Cedar text): `./` keeps readPolicyInput from guessing. */
function asPath(file: string): string {
  return file.includes('\n') || /[;{(]/.test(file) ? `./${file}` : file;
}

function schemaOf(file: string | undefined): string | undefined {
  return file === undefined ? undefined : asPath(file);
}

function printProblems(out: Output, file: string, err: PolicySetError): void {
  if (out.json) {
    out.data({ ok: false, source: err.source, problems: err.problems });
    return;
  }
  out.line(`${out.color.red('REFUSED')} ${file}`);
  for (const p of err.problems) {
    const where = p.line === undefined ? file : `${file}:${p.line}:${p.column}`;
    out.line(`${where}: ${p.policyId ? `[${p.policyId}] ` : ''}${p.kind}: ${p.message}`);
  }
}
