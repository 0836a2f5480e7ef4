// The first-scope signal (src/scope/first-scope.ts): raised once, by the explicit scope entries,
// and a failing listener never breaks entering a scope.
import { describe, expect, it } from 'vitest';
import { agentRun, interceptContext, onFirstScope } from '../../src/scope/index.js';

describe('onFirstScope', () => {
  it('runs listeners once at the first scope entry; later listeners run at once; throwing ones are contained', async () => {
    const seen: string[] = [];
    onFirstScope(() => seen.push('early'));
    onFirstScope(() => {
      throw new Error('listener bug');
    });
    expect(seen).toEqual([]);
    const out = await interceptContext({ agentId: 'a', actionName: 'b' }, async () => 'ran');
    expect(out).toBe('ran');
    await agentRun('run', async () =>
      interceptContext({ agentId: 'a', actionName: 'c' }, async () => 'again'),
    );
    expect(seen).toEqual(['early']);
    onFirstScope(() => seen.push('late'));
    expect(seen).toEqual(['early', 'late']);
  });
});
