/**
 * The OpenAPI 3.1 document served at /openapi.json, maintained by hand beside the routes.
 * Why by hand: the generating libraries for Hono (@hono/zod-openapi, hono-openapi) would make
 * zod or a validator a runtime dependency of every install for one JSON document; the routes
 * validate their input themselves (http.ts) and test/gateway/openapi.test.ts checks that every
 * route is documented.
 */
import { VERSION } from '../version.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const error = (description: string) => ({ description, ...json(ref('Error')) });
const errors = {
  '400': error('bad request (bad_request, invalid_params, policy_invalid)'),
  '401': error('missing, unknown or revoked API key (unauthorized)'),
  '403': error('the key may not do this (forbidden)'),
  '413': error('body larger than 1 MiB (payload_too_large)'),
  '503': error('the store cannot answer (unavailable)'),
};
const idParam = (name: string) => ({
  name,
  in: 'path',
  required: true,
  schema: { type: 'string', format: 'uuid' },
});
const query = (name: string, schema: unknown, description?: string) => ({
  name,
  in: 'query',
  required: false,
  schema,
  ...(description ? { description } : {}),
});
const nullableString = { type: ['string', 'null'] };
const decision = { type: 'string', enum: ['ALLOW', 'BLOCK', 'ESCALATE'] };
const status = { type: 'string', enum: ['pending', 'approved', 'rejected', 'expired'] };
const trace = {
  type: 'object',
  properties: {
    traceId: { type: ['string', 'null'], pattern: '^[0-9a-f]{32}$' },
    spanId: { type: ['string', 'null'], pattern: '^[0-9a-f]{16}$' },
  },
};

export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'provably gateway',
      version: VERSION,
      description:
        'Policy-gated tool execution: Cedar decides ALLOW / BLOCK / ESCALATE, humans decide escalations, every decision is a leaf of the tenant’s Merkle log.',
    },
    security: [{ apiKey: [] }],
    paths: {
      '/healthz': {
        get: {
          security: [],
          summary: 'liveness and store reachability',
          responses: { '200': { description: 'ok' }, '503': { description: 'the store cannot answer' } },
        },
      },
      '/livez': {
        get: {
          security: [],
          summary: 'liveness: the process answers (no store access)',
          responses: { '200': { description: 'ok' } },
        },
      },
      '/v1/apikeys': {
        get: {
          summary: 'the tenant’s API keys, without secrets (admin)',
          responses: {
            '200': {
              description: 'keys',
              ...json({ type: 'object', properties: { apikeys: { type: 'array', items: ref('ApiKey') } } }),
            },
            ...errors,
          },
        },
        post: {
          summary: 'create an API key in the admin’s tenant; the key is in this answer only (admin)',
          requestBody: {
            required: true,
            ...json({
              type: 'object',
              required: ['role'],
              properties: {
                role: { type: 'string', enum: ['agent', 'reviewer', 'admin'] },
                name: nullableString,
                agentId: { ...nullableString, description: 'bind an agent key to one agent id' },
              },
            }),
          },
          responses: {
            '201': {
              description: 'created',
              ...json({
                allOf: [ref('ApiKey'), { type: 'object', properties: { key: { type: 'string' } } }],
              }),
            },
            ...errors,
          },
        },
      },
      '/v1/apikeys/{id}/revoke': {
        post: {
          summary:
            'revoke a key of the admin’s tenant (401 from then on, on every replica within the key cache time)',
          parameters: [idParam('id')],
          responses: {
            '200': { description: 'revoked', ...json(ref('ApiKey')) },
            '404': error('not_found'),
            ...errors,
          },
        },
      },
      '/openapi.json': {
        get: { security: [], summary: 'this document', responses: { '200': { description: 'OpenAPI 3.1' } } },
      },
      '/v1/execute': {
        post: {
          summary: 'decide an action (agent, admin); BLOCK is a 200',
          requestBody: { required: true, ...json(ref('ExecuteRequest')) },
          responses: { '200': { description: 'the decision', ...json(ref('Execution')) }, ...errors },
        },
      },
      '/v1/escalations': {
        get: {
          summary: 'escalations, newest first (agent keys: their own agent’s)',
          parameters: [
            query('status', status),
            query('limit', { type: 'integer', minimum: 1, maximum: 1000, default: 100 }),
            query('cursor', { type: 'string' }, 'nextCursor of the previous page'),
          ],
          responses: {
            '200': {
              description: 'a page',
              ...json({
                type: 'object',
                properties: {
                  escalations: { type: 'array', items: ref('Escalation') },
                  nextCursor: nullableString,
                },
              }),
            },
            ...errors,
          },
        },
      },
      '/v1/escalations/{id}': {
        get: {
          summary: 'one escalation; with wait, held until decided or expired (≤ 55 s)',
          parameters: [idParam('id'), query('wait', { type: 'number', minimum: 0, maximum: 55 })],
          responses: {
            '200': { description: 'the escalation', ...json(ref('Escalation')) },
            '404': error('not_found'),
            ...errors,
          },
        },
      },
      '/v1/escalations/{id}/approve': decideOne('approve'),
      '/v1/escalations/{id}/reject': decideOne('reject'),
      '/v1/escalations/decide': {
        post: {
          summary: 'approve or reject up to 100 escalations (reviewer, admin), one answer per id',
          requestBody: {
            required: true,
            ...json({
              type: 'object',
              required: ['ids', 'decision', 'reason'],
              properties: {
                ids: { type: 'array', minItems: 1, maxItems: 100, items: { type: 'string' } },
                decision: { type: 'string', enum: ['approve', 'reject'] },
                reason: { type: 'string' },
              },
            }),
          },
          responses: {
            '200': {
              description: 'per-id results',
              ...json({
                type: 'object',
                properties: {
                  results: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: {
                        id: { type: 'string' },
                        ok: { type: 'boolean' },
                        status,
                        error: {
                          type: 'object',
                          properties: { code: { type: 'string' }, message: { type: 'string' } },
                        },
                      },
                    },
                  },
                },
              }),
            },
            ...errors,
          },
        },
      },
      '/v1/events': {
        post: {
          summary: 'report a guarded call’s outcome, or a fail-open decision (agent, admin)',
          requestBody: {
            required: true,
            ...json({ oneOf: [ref('OutcomeEvent'), ref('FailOpenEvent')] }),
          },
          responses: {
            '201': {
              description: 'recorded',
              ...json({ type: 'object', properties: { eventId: { type: 'string' } } }),
            },
            '404': error('the parent event is unknown'),
            '409': error('the parent decision did not let the call run'),
            ...errors,
          },
        },
      },
      '/v1/audit': {
        get: {
          summary: 'decision events, newest first (reviewer, admin)',
          parameters: [
            query('agent', { type: 'string' }),
            query('action', { type: 'string' }),
            query('decision', decision),
            query('session', { type: 'string' }),
            query('since', { type: 'string', format: 'date-time' }),
            query('until', { type: 'string', format: 'date-time' }),
            query('limit', { type: 'integer', minimum: 1, maximum: 1000, default: 100 }),
            query('cursor', { type: 'string' }),
          ],
          responses: {
            '200': {
              description: 'a page',
              ...json({
                type: 'object',
                properties: {
                  events: { type: 'array', items: ref('DecisionEvent') },
                  nextCursor: nullableString,
                },
              }),
            },
            ...errors,
          },
        },
      },
      '/v1/audit/{eventId}': {
        get: {
          summary:
            'one event with its policy text, escalation, what followed it, and the HTTP records of its trace',
          parameters: [idParam('eventId')],
          responses: {
            '200': {
              description: 'the event in context',
              ...json({
                type: 'object',
                properties: {
                  event: ref('DecisionEvent'),
                  policy: {
                    type: ['object', 'null'],
                    properties: {
                      version: { type: 'integer' },
                      digest: { type: 'string' },
                      text: { type: 'string' },
                      schema: nullableString,
                    },
                  },
                  escalation: { oneOf: [ref('Escalation'), { type: 'null' }] },
                  outcomes: { type: 'array', items: ref('DecisionEvent') },
                  records: { type: 'array', items: { type: 'object' } },
                },
              }),
            },
            '404': error('not_found'),
            ...errors,
          },
        },
      },
      '/v1/audit/{eventId}/proof': {
        get: {
          summary: 'the event’s inclusion proof under a signed checkpoint of the tenant’s log',
          parameters: [idParam('eventId')],
          responses: {
            '200': {
              description: 'leaf content, proof and checkpoint (the handoff payload’s proof shape)',
              ...json({
                type: 'object',
                properties: {
                  event_id: { type: 'string' },
                  record: { type: 'object' },
                  leaf_index: { type: 'integer' },
                  leaf_hash: { type: 'string' },
                  inclusion_proof: { type: 'array', items: { type: 'string' } },
                  tree_size: { type: 'integer' },
                  root_hash: { type: 'string' },
                  checkpoint: { type: 'object' },
                },
              }),
            },
            '404': error('not_found'),
            ...errors,
          },
        },
      },
      '/v1/policies': {
        get: {
          summary: 'the serving policy set and its history (admin; reviewer read-only)',
          responses: { '200': { description: 'the policy set', ...json(ref('PolicySet')) }, ...errors },
        },
        put: {
          summary: 'a new policy set version (admin); refused with policy id / line / column',
          requestBody: {
            required: true,
            ...json({
              type: 'object',
              required: ['text'],
              properties: { text: { type: 'string' }, schema: nullableString },
            }),
          },
          responses: {
            '200': {
              description: 'stored and serving',
              ...json({
                type: 'object',
                properties: { version: { type: 'integer' }, digest: { type: 'string' } },
              }),
            },
            ...errors,
          },
        },
      },
    },
    components: {
      securitySchemes: {
        apiKey: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Provably-Api-Key',
          description: 'pvk_<prefix>_<secret>; X-Provenance-Api-Key is accepted too',
        },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: {
                  type: 'string',
                  enum: [
                    'bad_request',
                    'invalid_params',
                    'unauthorized',
                    'forbidden',
                    'not_found',
                    'conflict',
                    'payload_too_large',
                    'policy_invalid',
                    'unavailable',
                    'internal',
                  ],
                },
                message: { type: 'string' },
                problems: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      policyId: nullableString,
                      line: { type: ['integer', 'null'] },
                      column: { type: ['integer', 'null'] },
                      message: { type: 'string' },
                    },
                  },
                },
              },
            },
            escalation: ref('Escalation'),
          },
        },
        ApiKey: {
          type: 'object',
          properties: {
            id: { type: 'string', format: 'uuid' },
            tenant: { type: 'string' },
            role: { type: 'string', enum: ['agent', 'reviewer', 'admin'] },
            name: nullableString,
            agentId: nullableString,
            prefix: { type: 'string' },
            createdAt: { type: 'string', format: 'date-time' },
            revokedAt: { type: ['string', 'null'], format: 'date-time' },
          },
        },
        ExecuteRequest: {
          type: 'object',
          required: ['action'],
          properties: {
            agentId: { type: 'string', description: 'required unless the key is bound to an agent' },
            action: { type: 'string', maxLength: 256 },
            params: { type: 'object' },
            sessionId: nullableString,
            trace,
            wait: { type: 'number', minimum: 0, maximum: 55, default: 0 },
          },
        },
        Execution: {
          type: 'object',
          required: ['decision', 'reason', 'action', 'eventId', 'sessionId', 'policyVersion', 'mode'],
          properties: {
            decision,
            reason: { type: 'string' },
            action: { type: 'string' },
            eventId: { type: 'string', format: 'uuid' },
            sessionId: nullableString,
            policyVersion: { type: 'string' },
            mode: { type: 'string', enum: ['enforce', 'log_only'] },
            shadowDecision: decision,
            escalationId: { type: 'string', format: 'uuid' },
            escalationStatus: status,
            expiresAt: { type: 'string', format: 'date-time' },
            actorHumanId: { type: 'string' },
          },
        },
        Escalation: {
          type: 'object',
          properties: {
            id: { type: 'string', format: 'uuid' },
            status,
            eventId: { type: 'string' },
            decisionEventId: nullableString,
            agentId: { type: 'string' },
            action: { type: 'string' },
            sessionId: nullableString,
            params: { type: 'object' },
            paramsSha256: { type: 'string' },
            reason: { type: 'string' },
            policyVersion: { type: 'string' },
            policyIds: { type: 'array', items: { type: 'string' } },
            createdAt: { type: 'string', format: 'date-time' },
            expiresAt: { type: 'string', format: 'date-time' },
            reviewer: nullableString,
            decisionReason: nullableString,
            decidedAt: { type: ['string', 'null'], format: 'date-time' },
          },
        },
        DecisionEvent: {
          type: 'object',
          properties: {
            id: { type: 'string', format: 'uuid' },
            eventType: { type: 'string', enum: ['decision', 'escalation', 'outcome'] },
            decision: { type: ['string', 'null'], enum: ['ALLOW', 'BLOCK', 'ESCALATE', null] },
            mode: { type: 'string', enum: ['enforce', 'log_only'] },
            reason: { type: 'string' },
            agentId: { type: 'string' },
            action: { type: 'string' },
            sessionId: nullableString,
            params: { type: 'object' },
            paramsSha256: { type: 'string' },
            policyVersion: { type: 'string' },
            policyIds: { type: 'array', items: { type: 'string' } },
            escalationId: nullableString,
            escalationStatus: { type: ['string', 'null'] },
            reviewer: nullableString,
            parentId: nullableString,
            traceId: nullableString,
            spanId: nullableString,
            outcome: { type: ['object', 'null'] },
            decidedAt: { type: 'string', format: 'date-time' },
            durationMs: { type: ['number', 'null'] },
            createdAt: { type: 'string', format: 'date-time' },
            leafIndex: { type: ['integer', 'null'] },
          },
        },
        OutcomeEvent: {
          type: 'object',
          required: ['parentEventId', 'outcome', 'durationMs'],
          properties: {
            kind: { const: 'outcome' },
            parentEventId: { type: 'string', format: 'uuid' },
            outcome: {
              type: 'object',
              required: ['ok'],
              properties: {
                ok: { type: 'boolean' },
                resultSha256: { type: 'string' },
                error: { type: 'string' },
              },
            },
            durationMs: { type: 'number', minimum: 0 },
            trace,
          },
        },
        FailOpenEvent: {
          type: 'object',
          required: ['kind', 'action', 'decidedAt'],
          properties: {
            kind: { const: 'fail_open' },
            agentId: { type: 'string' },
            action: { type: 'string' },
            params: { type: 'object' },
            sessionId: nullableString,
            decidedAt: { type: 'string', format: 'date-time' },
            trace,
          },
        },
        PolicySet: {
          type: 'object',
          properties: {
            version: { type: ['integer', 'null'] },
            digest: nullableString,
            text: nullableString,
            schema: nullableString,
            updatedAt: { type: ['string', 'null'], format: 'date-time' },
            history: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  version: { type: 'integer' },
                  digest: { type: 'string' },
                  createdAt: { type: 'string', format: 'date-time' },
                  createdBy: { type: 'string' },
                },
              },
            },
          },
        },
      },
    },
  };
}

function decideOne(decision: 'approve' | 'reject') {
  return {
    post: {
      summary: `${decision} a pending escalation (reviewer, admin); the reviewer is the key’s name`,
      parameters: [idParam('id')],
      requestBody: {
        required: true,
        ...json({
          type: 'object',
          required: ['reason'],
          properties: {
            reason: { type: 'string' },
            paramsSha256: {
              type: 'string',
              description: 'refuse (409) unless the held params have this hash',
            },
          },
        }),
      },
      responses: {
        '200': { description: 'decided', ...json(ref('Escalation')) },
        '404': error('not_found'),
        '409': error('no longer pending, or other params (the body also has `escalation`)'),
        ...errors,
      },
    },
  };
}
