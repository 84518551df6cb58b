#!/usr/bin/env node
'use strict';
// Usage: node examples/verify-js/run-vectors.js tests/vectors/*.json
// Runs every vector of every file (docs/key-format.md section 12): license-key vectors
// (`key`), revocation-list vectors (`revocation_list`) and rotation vectors (`statement`).
// Exits 1 on any mismatch.

const fs = require('node:fs');
const {
  verify,
  verifyRevocationList,
  verifyRevocationCascade,
  followRotation,
  canonical,
  kidOfPem,
  LicenseKeyError,
} = require('./verify');

function attempt(run) {
  try {
    return { code: 'valid', value: run() };
  } catch (err) {
    if (err instanceof LicenseKeyError) return { code: err.code, value: null };
    return { code: `exception: ${err.stack}`, value: null };
  }
}

function runKeyVector(vector, trusted) {
  return attempt(() => {
    let revocations = vector.revocations
      ? verifyRevocationList(vector.revocations, trusted, { at: vector.at })
      : null;
    if (vector.revocation_cascade) {
      revocations = verifyRevocationCascade(Buffer.from(vector.revocation_cascade, 'base64'), trusted, {
        at: vector.at,
        deltas: (vector.revocation_deltas || []).map((d) => Buffer.from(d, 'base64')),
      });
    }
    return verify(vector.key, trusted, {
      at: vector.at,
      product: vector.product,
      host: vector.host,
      buildDate: vector.build_date,
      revocations,
      anchorLatestSeen: vector.anchor_latest_seen,
      anchorRevocationSequence: vector.anchor_revocation_sequence,
    });
  });
}

function check(vector) {
  const trusted = [vector.public_key_pem, ...(vector.also_trusted_pems || [])];
  if ('revocation_list' in vector) {
    const { code, value } = attempt(() =>
      verifyRevocationList(vector.revocation_list, trusted, { at: vector.at }),
    );
    if (code !== vector.expect) return code;
    if (code === 'valid' && canonical(value.entries) !== canonical(vector.entries)) {
      return 'valid, but with other entries';
    }
    if (code === 'valid' && (value.sequence || 0) !== (vector.sequence || 0)) {
      return 'valid, but with another sequence';
    }
    return null;
  }
  if ('statement' in vector) {
    const { code, value } = attempt(() => followRotation(vector.statement, trusted));
    if (code !== vector.expect) return code;
    if (code === 'valid' && kidOfPem(value) !== kidOfPem(vector.new_public_key_pem)) {
      return 'valid, but another new key';
    }
    return null;
  }
  const { code, value } = runKeyVector(vector, trusted);
  if (code !== vector.expect) return code;
  if (code === 'valid' && canonical(value) !== canonical(vector.claims)) {
    return 'valid, but with other claims';
  }
  return null;
}

function main() {
  const paths = process.argv.slice(2);
  if (paths.length === 0) {
    console.error('usage: node run-vectors.js VECTORS.json...');
    process.exit(2);
  }
  let passed = 0;
  let failed = 0;
  for (const path of paths) {
    for (const vector of JSON.parse(fs.readFileSync(path, 'utf8'))) {
      const got = check(vector);
      if (got === null) {
        passed += 1;
      } else {
        failed += 1;
        console.log(`FAIL ${path}: ${vector.name}: expected ${vector.expect}, got ${got}`);
      }
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

main();
