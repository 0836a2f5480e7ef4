/**
 * The adversarial suite (issue #8), part 2: GenAI tool spans as scopes (three copies of
 * @opentelemetry/api) and proxies taken from the environment at start (one process per attempt).
 * See kit/suite.ts for what each attempt must satisfy.
 */
import { attemptSuite } from './kit/suite.js';

attemptSuite('genai-env', (g) => g.scope !== 'context' || g.env !== undefined);
