#!/usr/bin/env node
'use strict';
// Usage: node examples/verify-js/run-vectors.js tests/vectors/keys.json
// Runs every vector (docs/key-format.md section 12); exits 1 on any mismatch.

const fs = require('node:fs');
const { verify, verifyRevocationList, canonical, LicenseKeyError } = require('./verify');

function runVector(vector) {
  const trusted = [vector.public_key_pem, ...(vector.also_trusted_pems || [])];
  try {
    const revocations = vector.revocations
      ? verifyRevocationList(vector.revocations, trusted, { at: vector.at })
      : null;
    const claims = verify(vector.key, trusted, {
      at: vector.at,
      product: vector.product,
      host: vector.host,
      buildDate: vector.build_date,
      revocations,
      anchorLatestSeen: vector.anchor_latest_seen,
    });
    return { code: 'valid', claims };
  } catch (err) {
    if (err instanceof LicenseKeyError) return { code: err.code, claims: null };
    return { code: `exception: ${err.stack}`, claims: null };
  }
}

function main() {
  const path = process.argv[2];
  if (!path) {
    console.error('usage: node run-vectors.js VECTORS.json');
    process.exit(2);
  }
  const vectors = JSON.parse(fs.readFileSync(path, 'utf8'));
  let passed = 0;
  let failed = 0;
  for (const vector of vectors) {
    const { code, claims } = runVector(vector);
    let ok = code === vector.expect;
    if (ok && code === 'valid') ok = canonical(claims) === canonical(vector.claims);
    if (ok) {
      passed += 1;
    } else {
      failed += 1;
      console.log(`FAIL ${vector.name}: expected ${vector.expect}, got ${code}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

main();
