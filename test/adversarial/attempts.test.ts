/**
 * The adversarial suite (issue #8), part 1: every attempt made inside interceptContext scopes,
 * and code loaded before the preload. See kit/suite.ts for what each attempt must satisfy.
 */
import { attemptSuite, inventoryTest } from './kit/suite.js';

inventoryTest();
attemptSuite('context', (g) => g.scope === 'context' && g.env === undefined);
