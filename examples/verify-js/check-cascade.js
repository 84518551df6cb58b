#!/usr/bin/env node
'use strict';
// Usage: node examples/verify-js/check-cascade.js [--at=TIMESTAMP] CASCADE PUBLIC_KEY.pem KEYS.tsv [DELTA...]
// Verifies the cascade (and its deltas, in order), then prints for every line of KEYS.tsv
// (`serial<TAB>issued_at<TAB>expires_at or -`) what the cascade says of that key, one line
// each: revoked, superseded, not_revoked or unknown (docs/key-format.md section 14.4).
// The fleet test and bench/cascade_bench.py run it over 100,000 keys.

const fs = require('node:fs');
const { verifyRevocationCascade, cascadeAnswer } = require('./verify');

function main() {
  let args = process.argv.slice(2);
  const at = args[0] && args[0].startsWith('--at=') ? args[0].slice(5) : undefined;
  if (at !== undefined) args = args.slice(1);
  const [cascadePath, pemPath, keysPath, ...deltaPaths] = args;
  if (!keysPath) {
    console.error('usage: node check-cascade.js CASCADE PUBLIC_KEY.pem KEYS.tsv [DELTA...]');
    process.exit(2);
  }
  const started = process.hrtime.bigint();
  const cascade = verifyRevocationCascade(fs.readFileSync(cascadePath), [fs.readFileSync(pemPath, 'utf8')], {
    at,
    deltas: deltaPaths.map((path) => fs.readFileSync(path)),
  });
  const loaded = process.hrtime.bigint();
  const out = [];
  for (const line of fs.readFileSync(keysPath, 'utf8').split('\n')) {
    if (line === '') continue;
    const [serial, issuedAt, expiresAt] = line.split('\t');
    out.push(cascadeAnswer(cascade, serial, issuedAt, expiresAt === '-' ? null : expiresAt).answer);
  }
  const done = process.hrtime.bigint();
  process.stdout.write(`${out.join('\n')}\n`);
  process.stderr.write(
    `verified in ${Number(loaded - started) / 1e6} ms; ${out.length} keys in ${Number(done - loaded) / 1e6} ms\n`,
  );
}

main();
