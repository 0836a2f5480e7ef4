import type { Command } from 'commander';
import { migrate } from '../../store/index.js';
import type { CommandContext } from '../context.js';

export function registerMigrateCommand(program: Command, ctx: CommandContext): void {
  program
    .command('migrate')
    .description('apply pending database migrations (safe to run concurrently and repeatedly)')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      ctx.run(opts.json, async (out, store) => {
        const result = await migrate(store);
        if (out.json) return out.data({ backend: store.backend, ...result });
        out.line(
          result.applied.length === 0
            ? `schema is up to date (version ${result.current}, ${store.backend})`
            : `applied migration${result.applied.length > 1 ? 's' : ''} ${result.applied.join(', ')}; schema at version ${result.current} (${store.backend})`,
        );
      }),
    );
}
