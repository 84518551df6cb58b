#!/usr/bin/env node
'use strict';
// Usage: node examples/verify-js/verify-file.js KEYFILE --public-key PEM [--public-key PEM...]
//            [--revocations FILE [--revocations DELTA...]] [--at TIMESTAMP] [--host HOST]
//            [--product NAME] [--log-key VKEY [--require-logged]]
// --revocations takes a plain list (LRL2.) or a revocation cascade (LRC1) and its deltas, in order.
// The offline check of `licensesvc verify`, in JavaScript: prints `valid` (exit 0) or
// `<code>: <message>` (exit 1); exit 2 when the check cannot be made (bad arguments,
// unreadable file or public key). Files are read as bytes and decoded as the spec says.

const fs = require('node:fs');
const { verify, verifyRevocationList, verifyRevocationCascade, LicenseKeyError } = require('./verify');
const tlog = require('./tlog');

function usage(message) {
  console.error(`Error: ${message}`);
  console.error(
    'usage: node verify-file.js KEYFILE --public-key PEM [--revocations FILE] [--at TS] ' +
      '[--host HOST] [--product NAME]',
  );
  process.exit(2);
}

function read(path) {
  try {
    return fs.readFileSync(path === '-' ? 0 : path);
  } catch (err) {
    return usage(`cannot read ${JSON.stringify(path)}: ${err.code || err.message}`);
  }
}

function main(argv) {
  const publicKeys = [];
  let keyfile = null;
  const revocations = [];
  let at;
  let host;
  let product;
  let logKey = null;
  let requireLogged = false;
  for (let i = 0; i < argv.length; i += 1) {
    const word = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${word} needs a value`);
      i += 1;
      return argv[i];
    };
    if (word === '--public-key') publicKeys.push(value());
    else if (word === '--revocations') revocations.push(value());
    else if (word === '--at') at = value();
    else if (word === '--host') host = value();
    else if (word === '--product') product = value();
    else if (word === '--log-key') logKey = value();
    else if (word === '--require-logged') requireLogged = true;
    else if (word.startsWith('--')) usage(`no such option ${word}`);
    else if (keyfile === null) keyfile = word;
    else usage(`unexpected argument ${word}`);
  }
  if (keyfile === null) usage('missing KEYFILE');
  if (publicKeys.length === 0) usage('missing --public-key');
  if (requireLogged && logKey === null) usage('--require-logged needs --log-key');
  let logVerifier = null;
  if (logKey !== null) {
    try {
      logVerifier = tlog.parseVkey(logKey);
    } catch (err) {
      usage(`--log-key: ${err.message}`);
    }
  }
  const key = read(keyfile);
  const lists = revocations.map(read);
  const trusted = publicKeys.map(read);
  try {
    // The list first (spec section 7, step 5): when it fails, that is the answer.
    let rl = null;
    if (lists.length > 0 && lists[0].subarray(0, 4).toString('latin1') === 'LRC1') {
      rl = verifyRevocationCascade(lists[0], trusted, { at, deltas: lists.slice(1) });
    } else if (lists.length > 1) {
      return usage('only a revocation cascade takes deltas (more than one --revocations)');
    } else if (lists.length === 1) {
      rl = verifyRevocationList(lists[0], trusted, { at });
    }
    const claims = verify(key, trusted, { at, revocations: rl, host, product });
    // docs/key-format.md section 13: the file's log proof must prove this key
    if (logVerifier !== null) {
      const text = key.toString('utf8').replace(/^\ufeff/, '');
      if (requireLogged || tlog.splitLicenseFile(text).proof !== null) {
        tlog.verifyKeyLogged(text, claims.serial, logVerifier);
      }
    }
    process.stdout.write(`valid\nserial  ${claims.serial}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof LicenseKeyError)) return usage(err.message);
    process.stdout.write(`${err.code}: ${err.message}\n`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
