// Positive controls: they prove the harness can see a call go through, be recorded, and reach a
// target — so that "0 connections, no row" elsewhere means refused, not "nothing ran".
import http from 'node:http';
import { call, text } from '../kit/child-lib.mjs';

export default [
  {
    id: 'control-trusted-fetch',
    class: 'control',
    kind: 'allowed',
    description: 'scoped fetch(trusted): goes through, one row naming the trusted URL and its bytes',
    needs: [],
    run: (c) => text(fetch(`${c.TR}/control`)),
  },
  {
    id: 'control-trusted-http',
    class: 'control',
    kind: 'allowed',
    description: 'scoped http.get(trusted)',
    needs: [],
    run: (c) => call(http, `${c.TR}/control`),
  },
  {
    id: 'control-unscoped-untrusted',
    class: 'control',
    kind: 'unscoped',
    description: 'UNscoped fetch(untrusted) (selfEgress): goes through, reaches the target, no row',
    needs: ['http'],
    run: (c, { outside }) => outside(() => text(fetch(`${c.T.url}/control`))),
  },
];
