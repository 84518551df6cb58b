'use strict';
// The transparency log's offline checks (docs/transparency.md, docs/key-format.md section 13),
// written from the specs with Node's built-in crypto: RFC 6962 hashing, RFC 9162 inclusion
// and consistency proof verification, C2SP signed notes, vkeys and checkpoints, and the log
// proof block of a license file. Every failure throws LicenseKeyError with a code:
// `not_logged`, `bad_checkpoint`, `log_inconsistent`, `log_rollback`.

const crypto = require('node:crypto');
const { LicenseKeyError } = require('./verify');

const PROOF_BEGIN = '-----BEGIN LICENSESVC LOG PROOF-----';
const PROOF_END = '-----END LICENSESVC LOG PROOF-----';
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');
const DASH = '\u2014 ';

const sha256 = (...parts) => crypto.createHash('sha256').update(Buffer.concat(parts)).digest();
const leafHash = (leaf) => sha256(Buffer.from([0]), Buffer.from(leaf));
const nodeHash = (left, right) => sha256(Buffer.from([1]), left, right);

function b64(text, code, what) {
  const data = Buffer.from(text, 'base64');
  if (data.toString('base64') !== text) throw new LicenseKeyError(code, `${what} is not base64.`);
  return data;
}

// RFC 9162 section 2.1.3.2
function verifyInclusion(hash, index, size, proof, root) {
  const bad = (why) => new LicenseKeyError('not_logged', `The inclusion proof fails: ${why}.`);
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size)) || index < 0 || index >= size) {
    throw bad('the index is not in the tree');
  }
  let fn = BigInt(index);
  let sn = BigInt(size - 1);
  let r = hash;
  for (const p of proof) {
    if (p.length !== 32) throw bad('a hash is not 32 bytes');
    if (sn === 0n) throw bad('the path is too long');
    if (fn & 1n || fn === sn) {
      r = nodeHash(p, r);
      if (!(fn & 1n)) {
        while (fn !== 0n && !(fn & 1n)) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n || !r.equals(root)) throw bad('it does not lead to the root');
}

// RFC 9162 section 2.1.4.2
function verifyConsistency(size1, size2, proof, root1, root2) {
  const bad = (why) => new LicenseKeyError('log_inconsistent', `The consistency proof fails: ${why}.`);
  if (size1 < 0 || size1 > size2) throw bad('the sizes are out of order');
  if (size1 === size2) {
    if (proof.length || !root1.equals(root2)) throw bad('two roots for one size');
    return;
  }
  if (size1 === 0) {
    if (proof.length) throw bad('a proof from the empty tree');
    return;
  }
  if (!proof.length) throw bad('the proof is empty');
  const path = (size1 & (size1 - 1)) === 0 ? [root1, ...proof] : [...proof];
  let fn = BigInt(size1 - 1);
  let sn = BigInt(size2 - 1);
  while (fn & 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) throw bad('the path is too long');
    if (fn & 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!(fn & 1n)) {
        while (fn !== 0n && !(fn & 1n)) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n || !fr.equals(root1) || !sr.equals(root2)) throw bad('the roots are not joined');
}

// C2SP signed-note "Verifier keys": name+hex(key ID)+base64(0x01 || Ed25519 public key)
function parseVkey(vkey) {
  const parts = vkey.trim().split('+');
  if (parts.length < 3) throw new Error('a log key is name+keyid+base64(key)');
  const [name, keyId] = parts;
  const material = Buffer.from(parts.slice(2).join('+'), 'base64');
  if (!/^[0-9a-f]{8}$/.test(keyId) || material.length !== 33 || material[0] !== 1) {
    throw new Error('a log key must be an Ed25519 vkey');
  }
  const computed = sha256(Buffer.from(`${name}\n`, 'utf8'), material).subarray(0, 4);
  if (computed.toString('hex') !== keyId) throw new Error("the log key's ID does not match");
  const key = crypto.createPublicKey({
    key: Buffer.concat([ED25519_SPKI, material.subarray(1)]),
    format: 'der',
    type: 'spki',
  });
  return { name, keyId: Buffer.from(keyId, 'hex'), key };
}

// C2SP signed-note: the text (up to the last blank line) once the trusted key's signature
// on it verifies; other keys' signatures are ignored.
function openNote(note, verifier) {
  const bad = (why) => new LicenseKeyError('bad_checkpoint', `The checkpoint ${why}.`);
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note) || !note.endsWith('\n')) throw bad('is malformed');
  const cut = note.lastIndexOf('\n\n');
  if (cut < 0) throw bad('has no signatures');
  const text = note.slice(0, cut + 1);
  let verified = false;
  for (const line of note.slice(cut + 2, -1).split('\n')) {
    if (!line.startsWith(DASH)) throw bad('has a malformed signature line');
    const space = line.lastIndexOf(' ');
    const name = line.slice(DASH.length, space);
    const blob = b64(line.slice(space + 1), 'bad_checkpoint', 'A signature');
    if (name !== verifier.name || !blob.subarray(0, 4).equals(verifier.keyId)) continue;
    if (!crypto.verify(null, Buffer.from(text, 'utf8'), verifier.key, blob.subarray(4))) {
      throw bad("signature by the log key does not verify");
    }
    verified = true;
  }
  if (!verified) throw bad('carries no signature of the log key');
  return text;
}

function verifyCheckpoint(note, verifier) {
  const lines = openNote(note, verifier).split('\n').slice(0, -1);
  if (lines.length < 3 || lines[0] !== verifier.name || !/^(0|[1-9][0-9]*)$/.test(lines[1])) {
    throw new LicenseKeyError('bad_checkpoint', 'The checkpoint is not of this log.');
  }
  const root = b64(lines[2], 'bad_checkpoint', "The checkpoint's root");
  if (root.length !== 32) throw new LicenseKeyError('bad_checkpoint', 'The root is not 32 bytes.');
  return { origin: lines[0], treeSize: Number(lines[1]), root };
}

// docs/key-format.md section 13: the proof block after a license file, or null.
function splitLicenseFile(text) {
  const at = text.indexOf(PROOF_BEGIN);
  if (at < 0) return { license: text, proof: null };
  const lines = text.slice(at).trim().split('\n').map((l) => l.replace(/\r$/, ''));
  if (lines.length < 3 || lines[lines.length - 1] !== PROOF_END) {
    throw new LicenseKeyError('not_logged', "The license file's log proof has no END line.");
  }
  try {
    const obj = JSON.parse(b64(lines.slice(1, -1).join(''), 'not_logged', 'The proof').toString('utf8'));
    return { license: text.slice(0, at), proof: obj };
  } catch (err) {
    if (err instanceof LicenseKeyError) throw err;
    throw new LicenseKeyError('not_logged', "The license file's log proof cannot be read.");
  }
}

function textKeyOf(license) {
  const lines = license.trim().split('\n').map((l) => l.replace(/\r$/, ''));
  if (!lines[0].startsWith('-----BEGIN ')) return lines.join('');
  return lines.slice(lines.indexOf('') + 1, -1).join('');
}

// Steps 1-4 of section 13 for `fileText` whose key has `serial`; returns the checkpoint.
function verifyKeyLogged(fileText, serial, verifier) {
  const notLogged = (why) => new LicenseKeyError('not_logged', why);
  const { license, proof } = splitLicenseFile(fileText);
  if (proof === null) throw notLogged('The license file carries no transparency-log proof.');
  const checkpoint = verifyCheckpoint(String(proof.checkpoint), verifier);
  if (checkpoint.treeSize !== proof.tree_size) throw notLogged('The proof is for another tree.');
  let leaf;
  try {
    leaf = JSON.parse(proof.leaf);
  } catch (err) {
    throw notLogged("The proof's leaf is not JSON.");
  }
  if (leaf.event !== 'issue' || leaf.serial !== serial) throw notLogged("The leaf is not this key's issue.");
  const keyHash = crypto.createHash('sha256').update(textKeyOf(license), 'ascii').digest('hex');
  if (leaf.key_sha256 !== keyHash) throw notLogged('The leaf records another key text.');
  const path = proof.proof.map((p) => b64(p, 'not_logged', 'A proof hash'));
  verifyInclusion(leafHash(Buffer.from(proof.leaf, 'ascii')), proof.index, proof.tree_size, path, checkpoint.root);
  return checkpoint;
}

module.exports = {
  leafHash,
  nodeHash,
  verifyInclusion,
  verifyConsistency,
  parseVkey,
  openNote,
  verifyCheckpoint,
  splitLicenseFile,
  verifyKeyLogged,
};
