'use strict';
// A licensesvc license-key verifier written from docs/key-format.md alone.
// Node >= 18, built-in `crypto` and `zlib` only. Section numbers below refer to that spec.

const crypto = require('node:crypto');
const zlib = require('node:zlib');

const CLOCK_SKEW_MS = 5 * 60 * 1000; // section 7
const ROLLBACK_TOLERANCE_MS = 60 * 60 * 1000; // section 9
const MAX_INPUT_LENGTH = 32768; // keys and rotation statements; revocation lists have no limit
const MAX_SAFE = Number.MAX_SAFE_INTEGER; // 2^53 - 1
const WHITESPACE = '\t\n\v\f\r ';
const KINDS = ['standard', 'replacement', 'dr_test', 'temporary'];
const REASONS = ['infrastructure_change', 'upgrade_patching', 'seasonal_testing', 'usage_spike'];
const FILE_BEGIN = '-----BEGIN LICENSESVC LICENSE-----';
const FILE_END = '-----END LICENSESVC LICENSE-----';
const LOG_PROOF_BEGIN = '-----BEGIN LICENSESVC LOG PROOF-----';

const KEY = { prefix: 'LK1.', context: Buffer.from('licensesvc/key/v1\n', 'ascii') };
const REVOCATION = {
  prefix: 'LRL2.',
  context: Buffer.from('licensesvc/revocation-list/v2\n', 'ascii'),
};
const STATUSES = ['revoked', 'superseded'];
const ENTRY_MEMBERS = new Set(['code', 'revoked_at', 'serial', 'status']);
const CODES = ['key_compromise', 'superseded', 'customer_request', 'contract_ended', 'issued_in_error'];
const ROTATION = {
  prefix: 'LROT1.',
  context: Buffer.from('licensesvc/key-rotation/v1\n', 'ascii'),
};

const CLAIM_MEMBERS = [
  'agents', 'case_number', 'customer_id', 'customer_name', 'expires_at', 'failover_host',
  'host', 'issued_at', 'jobs', 'kid', 'kind', 'license_id', 'maintenance_until', 'not_before',
  'product', 'reason', 'serial', 'supersedes', 'version',
];

class LicenseKeyError extends Error {
  constructor(code, message, claims = null) {
    super(message);
    this.code = code;
    this.claims = claims;
  }
}

// Thrown inside decoding; turned into `malformed` at the boundary.
class Invalid extends Error {}

function fail(why) {
  throw new Invalid(why);
}

function strip(text) {
  let start = 0;
  let end = text.length;
  while (start < end && WHITESPACE.includes(text[start])) start += 1;
  while (end > start && WHITESPACE.includes(text[end - 1])) end -= 1;
  return text.slice(start, end);
}

// Section 2, "Reading input": a string, or a file's bytes (strict UTF-8); one leading
// byte-order mark ignored; surrounding whitespace stripped; CR LF read as LF, any other CR
// refused. `maxLength` (code points, before stripping) is null for revocation lists.
function readInput(input, maxLength) {
  let text = input;
  if (Buffer.isBuffer(input) || input instanceof Uint8Array) {
    if (maxLength !== null && input.length > 4 * maxLength) fail('too long');
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
  }
  if (typeof text !== 'string') fail('not text');
  if (maxLength !== null && text.length > maxLength && [...text].length > maxLength) {
    fail('too long'); // UTF-16 length is an upper bound of the code point count
  }
  if (text.startsWith('\ufeff')) text = text.slice(1);
  text = strip(text);
  if (text.includes('\r')) {
    text = text.split('\r\n').join('\n');
    if (text.includes('\r')) fail('a CR that is not part of a CR LF line ending');
  }
  return text;
}

// Section 3: unpadded base64url, exactly one encoding.
function b64urlDecode(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) fail('not base64url');
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) fail('non-canonical base64url');
  return bytes;
}

// Section 1: points of small order and non-canonical encodings are never trusted.
const P = 2n ** 255n - 19n;
function modPow(base, exponent, modulus) {
  let result = 1n;
  let b = ((base % modulus) + modulus) % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}
const D = ((-121665n * modPow(121666n, P - 2n, P)) % P + P) % P;
const Y_ORDER_8 = 2707385501144840649318225287225658788936804267575313519463743609750303402022n;
const SMALL_ORDER_Y = [0n, 1n, P - 1n, Y_ORDER_8, P - Y_ORDER_8];

function checkPoint(raw) {
  if (raw.length !== 32) fail('a public key is 32 bytes');
  let encoded = 0n;
  for (let i = 31; i >= 0; i -= 1) encoded = (encoded << 8n) | BigInt(raw[i]);
  const y = encoded & ((1n << 255n) - 1n);
  if (y >= P) fail('public key not canonically encoded');
  if (SMALL_ORDER_Y.includes(y)) fail('public key of small order');
  const x2 = ((y * y - 1n) * modPow(D * y * y + 1n, P - 2n, P)) % P;
  const x2pos = (x2 + P) % P;
  if (x2pos !== 0n && modPow(x2pos, (P - 1n) / 2n, P) !== 1n) fail('public key not on the curve');
}

// Section 1: kid = hex(SHA-256(raw public key)[0:16]).
function publicKeyFromPem(pem) {
  const key = crypto.createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 public key');
  const raw = Buffer.from(key.export({ format: 'jwk' }).x, 'base64url');
  checkPoint(raw);
  return { key, raw, kid: kidOf(raw) };
}

// Section 1: a PEM file holds one PUBLIC KEY block or a bundle of several; text outside the
// blocks is ignored, a block of another type (a private key, a certificate) is an error.
function publicKeysFromPem(text) {
  const pemText = Buffer.isBuffer(text) ? text.toString('latin1') : text;
  if (/[^\x00-\x7f]/.test(pemText)) throw new Error('not a PEM file (not ASCII)');
  for (const m of pemText.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----/g)) {
    if (m[1] !== 'PUBLIC KEY') throw new Error(`a ${m[1]} block where a PUBLIC KEY was expected`);
  }
  const blocks = pemText.match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g);
  if (!blocks) throw new Error('no PUBLIC KEY block');
  return blocks.map(publicKeyFromPem);
}

function publicKeyFromRaw(raw) {
  checkPoint(raw);
  // SubjectPublicKeyInfo prefix for Ed25519 (RFC 8410) followed by the raw key.
  const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]);
  const key = crypto.createPublicKey({ key: der, format: 'der', type: 'spki' });
  return { key, raw, kid: kidOf(raw) };
}

function kidOf(raw) {
  return crypto.createHash('sha256').update(raw).digest().subarray(0, 16).toString('hex');
}

function trustedByKid(trusted) {
  const byKid = new Map();
  for (const item of trusted) {
    const found = typeof item === 'string' || Buffer.isBuffer(item) ? publicKeysFromPem(item) : [item];
    for (const key of found) byKid.set(key.kid, key);
  }
  return byKid;
}

// Section 4 value types.
const SURROGATE = /[\ud800-\udfff]/;
function checkText(value, what) {
  if (typeof value !== 'string') fail(`${what} must be a string`);
  if (value.length <= 256 && value.length >= 1 && !SURROGATE.test(value)) {
    // no surrogates: the UTF-16 length is the code point count (the common case, fast)
  } else {
    const codePoints = [...value];
    if (codePoints.length < 1 || codePoints.length > 256) fail(`${what} length`);
    for (const ch of codePoints) {
      const cp = ch.codePointAt(0);
      if (cp >= 0xd800 && cp <= 0xdfff) fail(`${what} has a lone surrogate`);
    }
  }
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(value)) fail(`${what} has a control char`);
  return value;
}

function checkOptionalText(value, what) {
  return value === null ? null : checkText(value, what);
}

function checkInteger(value, what) {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > MAX_SAFE) {
    fail(`${what} must be an integer`);
  }
  return value;
}

function checkKid(value, what = 'kid') {
  if (typeof value !== 'string' || !/^[0-9a-f]{32}$/.test(value)) fail(`${what} is not a kid`);
  return value;
}

function checkEnum(value, allowed, what) {
  if (typeof value !== 'string' || !allowed.includes(value)) fail(`${what} is not allowed`);
  return value;
}

function civil(year, month, day, hour, minute, second) {
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) {
    fail('date out of range');
  }
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day); // setUTCFullYear: no 1900 offset for years < 100
  d.setUTCHours(hour, minute, second, 0);
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) {
    fail('no such day');
  }
  return d.getTime();
}

// Returns milliseconds since the epoch.
function parseTimestamp(value) {
  const m = typeof value === 'string' && /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/.exec(value);
  if (!m) fail('not a timestamp');
  return civil(...m.slice(1).map(Number));
}

function checkDate(value) {
  const m = typeof value === 'string' && /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) fail('not a date');
  civil(Number(m[1]), Number(m[2]), Number(m[3]), 0, 0, 0);
  return value; // YYYY-MM-DD strings compare correctly as strings
}

function requireMembers(obj, members, what) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) fail(`${what} not an object`);
  const names = Object.keys(obj).sort();
  const want = [...members].sort();
  if (names.length !== want.length || names.some((name, i) => name !== want[i])) {
    fail(`${what} members`);
  }
}

// Section 4: canonical JSON. Objects are rebuilt with members in sorted order; JSON.stringify
// then writes no whitespace, escapes only what section 4 allows for our (checked) values.
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const names = Object.keys(value).sort();
    return `{${names.map((n) => `${JSON.stringify(n)}:${canonical(value[n])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function parsePayload(payload) {
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(payload);
  return JSON.parse(text);
}

// Section 2/3: PREFIX || b64url(payload) || "." || b64url(signature)
function openEnvelope(domain, text, maxLength = MAX_INPUT_LENGTH) {
  const stripped = readInput(text, maxLength);
  if (!stripped.startsWith(domain.prefix)) fail('wrong prefix');
  const parts = stripped.slice(domain.prefix.length).split('.');
  if (parts.length !== 2) fail('two parts expected');
  const payload = b64urlDecode(parts[0]);
  const signature = b64urlDecode(parts[1]);
  if (payload.length === 0) fail('empty payload');
  if (signature.length !== 64) fail('signature is not 64 bytes');
  return { payload, signature };
}

function requireCanonical(obj, payload) {
  if (!Buffer.from(canonical(obj), 'utf8').equals(payload)) fail('not canonical');
}

// Section 5.
function claimsFromPayload(payload) {
  const obj = parsePayload(payload);
  requireMembers(obj, CLAIM_MEMBERS, 'key payload');
  if (obj.version !== 1) fail('unsupported version');
  for (const name of ['serial', 'license_id', 'customer_id', 'customer_name', 'product', 'host']) {
    checkText(obj[name], name);
  }
  for (const name of ['failover_host', 'supersedes', 'case_number']) {
    checkOptionalText(obj[name], name);
  }
  checkEnum(obj.kind, KINDS, 'kind');
  if (obj.reason !== null) checkEnum(obj.reason, REASONS, 'reason');
  checkInteger(obj.agents, 'agents');
  checkInteger(obj.jobs, 'jobs');
  checkKid(obj.kid);
  parseTimestamp(obj.issued_at);
  const notBefore = parseTimestamp(obj.not_before);
  checkDate(obj.maintenance_until);
  if (obj.expires_at !== null && parseTimestamp(obj.expires_at) <= notBefore) {
    fail('expires_at must be later than not_before');
  }
  requireCanonical(obj, payload);
  return obj;
}

// Section 6.
function renderLicenseFile(claims, textKey) {
  const shown = (value, absent = 'none') => (value === null ? absent : String(value));
  const keyLines = [];
  for (let i = 0; i < textKey.length; i += 64) keyLines.push(textKey.slice(i, i + 64));
  return [
    FILE_BEGIN,
    `Customer: ${claims.customer_name} (${claims.customer_id})`,
    `Product: ${claims.product}`,
    `License ID: ${claims.license_id}`,
    `Kind: ${claims.kind}`,
    `Reason: ${shown(claims.reason)}`,
    `Agents: ${claims.agents}`,
    `Jobs: ${claims.jobs}`,
    `Host: ${claims.host}`,
    `Failover host: ${shown(claims.failover_host)}`,
    `Valid from: ${claims.not_before}`,
    `Expires: ${shown(claims.expires_at, 'never (perpetual)')}`,
    `Maintenance until: ${claims.maintenance_until}`,
    `Serial: ${claims.serial}`,
    `Supersedes: ${shown(claims.supersedes)}`,
    `Case: ${shown(claims.case_number)}`,
    `Issued at: ${claims.issued_at}`,
    `Signing key ID: ${claims.kid}`,
    `Format version: ${claims.version}`,
    '',
    ...keyLines,
    FILE_END,
  ].join('\n') + '\n';
}

// Section 7 step 1: either form.
function decode(keyOrFile) {
  try {
    let normalized = readInput(keyOrFile, MAX_INPUT_LENGTH);
    // a transparency-log proof block may follow the file (section 13; checked by tlog.js)
    const proofAt = normalized.indexOf(LOG_PROOF_BEGIN);
    if (proofAt > 0 && normalized.startsWith(FILE_BEGIN)) {
      normalized = strip(normalized.slice(0, proofAt));
    }
    if (!normalized.startsWith(FILE_BEGIN)) {
      const envelope = openEnvelope(KEY, normalized);
      return { envelope, claims: claimsFromPayload(envelope.payload) };
    }
    const lines = normalized.split('\n');
    if (lines.length < 3 || lines[0] !== FILE_BEGIN || lines[lines.length - 1] !== FILE_END) {
      fail('BEGIN/END lines');
    }
    const blank = lines.indexOf('');
    if (blank < 0) fail('no blank line');
    const textKey = lines.slice(blank + 1, -1).join('');
    const envelope = openEnvelope(KEY, textKey);
    const claims = claimsFromPayload(envelope.payload);
    if (strip(renderLicenseFile(claims, textKey)) !== normalized) fail('file does not re-render');
    return { envelope, claims };
  } catch (err) {
    // Any error while decoding, expected or not, is `malformed`; never an acceptance.
    throw new LicenseKeyError('malformed', `The license key is malformed (${err.message}).`);
  }
}

// Steps 2 and 3.
function checkSignature(domain, envelope, kid, trusted, what) {
  const publicKey = trusted.get(kid);
  if (!publicKey) throw new LicenseKeyError('unknown_key_id', `The ${what} key ID is not trusted.`);
  const message = Buffer.concat([domain.context, envelope.payload]);
  let ok = false;
  try {
    ok = crypto.verify(null, message, publicKey.key, envelope.signature);
  } catch {
    ok = false;
  }
  if (!ok) throw new LicenseKeyError('bad_signature', `The ${what} signature does not match.`);
}

// Section 7: the verification time counts whole seconds; a fraction is truncated.
function toMillis(at) {
  let ms;
  if (at === undefined || at === null) ms = Date.now();
  else if (at instanceof Date) ms = at.getTime();
  else {
    // a timestamp, perhaps with a fraction of a second before the Z
    const m = typeof at === 'string' && /^(.{19})(\.\d+)?Z$/.exec(at);
    if (!m) fail('not a timestamp');
    ms = parseTimestamp(`${m[1]}Z`);
  }
  return Math.floor(ms / 1000) * 1000;
}

function asciiLower(text) {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/**
 * Verify a text key or license file.
 * options: { at (Date or timestamp string; default now), product, host, buildDate
 * ("YYYY-MM-DD"), revocations (a list returned by verifyRevocationList), anchorLatestSeen
 * (Date or timestamp string), anchorRevocationSequence (the highest list sequence the
 * installer's anchor has seen, section 9; 0 or absent: none) }.
 * Returns the claims (the payload object); throws LicenseKeyError with a `code`.
 */
function verify(keyOrFile, trustedPublicKeyPems, options = {}) {
  const at = toMillis(options.at);
  const trusted = trustedByKid(trustedPublicKeyPems);
  // 1. Decode either form.
  const { envelope, claims } = decode(keyOrFile);
  // 2. Key ID among the trusted keys, 3. signature.
  checkSignature(KEY, envelope, claims.kid, trusted, 'license key');
  const refuse = (code, message) => new LicenseKeyError(code, message, claims);
  // 4. Clock rollback against the anchor.
  if (options.anchorLatestSeen !== undefined && options.anchorLatestSeen !== null) {
    if (toMillis(options.anchorLatestSeen) - at > ROLLBACK_TOLERANCE_MS) {
      throw refuse('clock_rollback', 'The clock appears to have been turned back.');
    }
  }
  // 5. Revocation wins: a current list (or cascade) naming the key revoked is the answer,
  //    whatever else is wrong with the key. Stale lists refused; "revoked" invalidates at
  //    once, "superseded" once its overlap (ending at revoked_at) is over. A cascade that
  //    cannot speak for the key says so after the time checks (step 8).
  let unknownToCascade = false;
  if (options.revocations && options.revocations.kind === 'cascade') {
    unknownToCascade = checkCascade(options.revocations, claims, at, refuse);
  } else if (options.revocations) {
    const rl = options.revocations;
    if (at - parseTimestamp(rl.next_update) > CLOCK_SKEW_MS) {
      throw refuse(
        'stale_revocation_list',
        `The revocation list was due to be replaced at ${rl.next_update}; fetch a current one.`,
      );
    }
    // A list older than one the anchor has seen may lack later revocations (section 8).
    if ((rl.sequence || 0) < (options.anchorRevocationSequence || 0)) {
      throw refuse('stale_revocation_list', 'The revocation list is older than one already seen.');
    }
    // One lookup in the Map built when the list was verified, however long the list.
    const e = rl.bySerial ? rl.bySerial.get(claims.serial) : rl.entries.find((x) => x.serial === claims.serial);
    if (e && e.status === 'revoked') {
      throw refuse(
        'revoked',
        `The license key ${claims.serial} was revoked at ${e.revoked_at} (${e.code}).`,
      );
    }
    if (e && at - parseTimestamp(e.revoked_at) > CLOCK_SKEW_MS) {
      throw refuse(
        'revoked',
        `The license key ${claims.serial} was superseded by a replacement; its overlap ended at ${e.revoked_at}.`,
      );
    }
  }
  // 6. Not yet valid.
  if (parseTimestamp(claims.not_before) - at > CLOCK_SKEW_MS) {
    throw refuse('not_yet_valid', `The license key is not valid before ${claims.not_before}.`);
  }
  // 7. Expired.
  if (claims.expires_at !== null && at - parseTimestamp(claims.expires_at) > CLOCK_SKEW_MS) {
    throw refuse('expired', `The license key expired at ${claims.expires_at}.`);
  }
  // 8. A cascade that was not built over this key cannot say it is not revoked.
  if (unknownToCascade) {
    const c = options.revocations;
    throw refuse(
      'unknown_to_list',
      `The revocation cascade (generation ${c.generation}) covers keys issued up to ${c.coveredThroughText}; ` +
        `this key was issued at ${claims.issued_at}. Fetch a delta since generation ${c.generation} ` +
        `or a current cascade from ${c.server || 'the server'}.`,
    );
  }
  // 9. Product, exact.
  if (options.product !== undefined && options.product !== null && options.product !== claims.product) {
    throw refuse('wrong_product', `The license key is for '${claims.product}', not '${options.product}'.`);
  }
  // 10. Host or failover host, ASCII case-insensitive.
  if (options.host !== undefined && options.host !== null) {
    const bound = [claims.host, claims.failover_host].filter((h) => h !== null);
    if (!bound.some((h) => asciiLower(h) === asciiLower(options.host))) {
      throw refuse('wrong_host', `The license key is bound to ${bound.join(' or ')}, not ${options.host}.`);
    }
  }
  // 11. Maintenance: builds after maintenance_until are not covered.
  if (options.buildDate !== undefined && options.buildDate !== null) {
    if (checkDate(options.buildDate) > claims.maintenance_until) {
      throw refuse(
        'maintenance_not_covering',
        `This build (${options.buildDate}) was released after maintenance ended on ${claims.maintenance_until}.`,
      );
    }
  }
  return claims;
}

// Section 8: serials are ordered by code point (= UTF-8 bytes). UTF-16 order is the same
// unless a surrogate pair meets a character from U+E000 up, so only those pay for bytes.
const HIGH = /[\ud800-\uffff]/;
function compareUtf8(a, b) {
  if (!HIGH.test(a) && !HIGH.test(b)) return a < b ? -1 : a === b ? 0 : 1;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Section 8. `text` is the list as a string or a file's bytes, of any length. Returns the
 * list (payload object, with a non-enumerable `bySerial` Map); throws LicenseKeyError.
 */
function verifyRevocationList(text, trustedPublicKeyPems, options = {}) {
  const at = toMillis(options.at);
  const trusted = trustedByKid(trustedPublicKeyPems);
  let envelope;
  let rl;
  const bySerial = new Map();
  try {
    try {
      envelope = openEnvelope(REVOCATION, text, null);
    } catch (err) {
      let old = false;
      try {
        old = readInput(text, null).startsWith('LRL1.');
      } catch {
        old = false;
      }
      if (old) fail('version 1 lists are no longer accepted; fetch a current list');
      throw err;
    }
    rl = parsePayload(envelope.payload);
    // `sequence` is optional (section 8): a list without it has sequence 0
    const hasSequence = Object.prototype.hasOwnProperty.call(rl, 'sequence');
    const members = ['entries', 'issued_at', 'kid', 'next_update', 'version'];
    requireMembers(rl, hasSequence ? [...members, 'sequence'] : members, 'list');
    if (rl.version !== 2) fail('unsupported version');
    if (hasSequence && !(Number.isSafeInteger(rl.sequence) && rl.sequence >= 1)) fail('sequence');
    checkKid(rl.kid);
    if (parseTimestamp(rl.next_update) <= parseTimestamp(rl.issued_at)) fail('next_update');
    if (!Array.isArray(rl.entries)) fail('entries');
    let previous = null;
    for (const entry of rl.entries) {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) fail('entry');
      const names = Object.keys(entry);
      if (names.length !== 4 || !names.every((n) => ENTRY_MEMBERS.has(n))) fail('entry members');
      checkText(entry.serial, 'serial');
      checkEnum(entry.status, STATUSES, 'status');
      checkEnum(entry.code, CODES, 'code');
      if (entry.status === 'superseded' && entry.code !== 'superseded') fail('superseded code');
      parseTimestamp(entry.revoked_at);
      if (previous !== null && compareUtf8(previous, entry.serial) >= 0) fail('order');
      previous = entry.serial;
      bySerial.set(entry.serial, entry);
    }
    // Canonical form (section 4), written directly: every member was checked above.
    const entries = rl.entries.map(
      (e) => `{"code":"${e.code}","revoked_at":"${e.revoked_at}","serial":${JSON.stringify(e.serial)},"status":"${e.status}"}`,
    );
    const head = `{"entries":[${entries.join(',')}],"issued_at":"${rl.issued_at}","kid":"${rl.kid}",`;
    const sequence = hasSequence ? `"sequence":${rl.sequence},` : '';
    const written = `${head}"next_update":"${rl.next_update}",${sequence}"version":2}`;
    if (!Buffer.from(written, 'utf8').equals(envelope.payload)) fail('not canonical');
  } catch (err) {
    throw new LicenseKeyError('malformed', `The revocation list is malformed (${err.message}).`);
  }
  checkSignature(REVOCATION, envelope, rl.kid, trusted, 'revocation list');
  if (at - parseTimestamp(rl.next_update) > CLOCK_SKEW_MS) {
    throw new LicenseKeyError('stale_revocation_list', 'The revocation list is out of date.');
  }
  Object.defineProperty(rl, 'bySerial', { value: bySerial, enumerable: false });
  return rl;
}

// Section 13: the revocation cascade (a filter cascade in Mozilla's format inside a signed
// LRC1 envelope) and its deltas.
const CASCADE = {
  magic: Buffer.from('LRC1', 'ascii'),
  context: Buffer.from('licensesvc/revocation-cascade/v1\n', 'ascii'),
};
const CASCADE_MEMBERS = [
  'base', 'count', 'covered_through', 'generation', 'issued_at', 'kid', 'kind', 'next_update',
  'server', 'since', 'version',
];
const MAX_STASH_BYTES = 8 * 1024 * 1024;

// Section 13.2: version 2 of the filter-cascade format, hash algorithm 2 only.
function parseFilterCascade(buf) {
  if (buf.length < 4) fail('filter cascade truncated');
  if (buf.readUInt16LE(0) !== 2) fail('filter cascade version');
  if (buf[2] > 1) fail('inverted flag');
  const saltEnd = 4 + buf[3];
  if (buf.length < saltEnd) fail('salt truncated');
  const filter = { salt: buf.subarray(4, saltEnd), inverted: buf[2] === 1, layers: [] };
  let pos = saltEnd;
  while (pos < buf.length) {
    if (buf.length - pos < 10) fail('layer header truncated');
    const size = buf.readUInt32LE(pos + 1);
    const hashes = buf.readUInt32LE(pos + 5);
    if (buf[pos] !== 2) fail('hash algorithm');
    if (buf[pos + 9] !== filter.layers.length + 1) fail('layer numbering');
    if (size < 1 || hashes < 1 || hashes > 64) fail('layer parameters');
    pos += 10;
    const bytes = Math.ceil(size / 8);
    if (buf.length - pos < bytes) fail('layer bits truncated');
    filter.layers.push({ size, hashes, bits: buf.subarray(pos, pos + bytes) });
    pos += bytes;
  }
  if (filter.layers.length < 1 || filter.layers.length > 255) fail('layer count');
  return filter;
}

// Section 13.3: SHA-256(salt || u32le(i) || u8(layer) || item), low 32 bits LE, mod size.
function cascadeHas(filter, item) {
  let found = false;
  const input = Buffer.alloc(5);
  for (let n = 0; n < filter.layers.length; n += 1) {
    const { size, hashes, bits } = filter.layers[n];
    input[4] = n + 1;
    for (let i = 0; i < hashes; i += 1) {
      input.writeUInt32LE(i, 0);
      const digest = crypto.createHash('sha256').update(filter.salt).update(input).update(item).digest();
      const index = digest.readUInt32LE(0) % size;
      if (((bits[index >> 3] >> (index & 7)) & 1) === 0) return found !== filter.inverted;
    }
    found = !found;
  }
  return found !== filter.inverted;
}

function decodeStash(buf) {
  const stash = new Map();
  if (buf.length === 0) return stash;
  const text = new TextDecoder('utf-8', { fatal: true }).decode(
    zlib.inflateSync(buf, { maxOutputLength: MAX_STASH_BYTES }),
  );
  const lines = text.split('\n');
  if (lines.pop() !== '') fail('stash does not end with a newline');
  let previous = null;
  for (const line of lines) {
    const tab = line.indexOf('\t');
    const serial = tab < 0 ? line : line.slice(0, tab);
    checkText(serial, 'serial');
    if (previous !== null && compareUtf8(previous, serial) >= 0) fail('stash not ascending');
    previous = serial;
    stash.set(serial, tab < 0 ? null : parseTimestamp(line.slice(tab + 1)));
  }
  return stash;
}

function readCascadePiece(data, trusted) {
  let header;
  let sections;
  let signed;
  try {
    if (!data.subarray(0, 4).equals(CASCADE.magic)) fail('not LRC1');
    let pos = 4;
    sections = [];
    for (let s = 0; s < 3; s += 1) {
      if (data.length - pos < 4) fail('truncated');
      const length = data.readUInt32LE(pos);
      pos += 4;
      if (data.length - pos < length) fail('truncated');
      sections.push(data.subarray(pos, pos + length));
      pos += length;
    }
    if (data.length - pos !== 64) fail('no 64-byte signature at the end');
    signed = { payload: data.subarray(0, pos), signature: data.subarray(pos) };
    header = parsePayload(sections[0]);
    requireMembers(header, CASCADE_MEMBERS, 'cascade header');
    requireCanonical(header, sections[0]);
    if (header.version !== 1) fail('unsupported version');
    if (header.kind !== 'base' && header.kind !== 'delta') fail('kind');
    checkKid(header.kid);
  } catch (err) {
    throw new LicenseKeyError('malformed', `The revocation cascade is malformed (${err.message}).`);
  }
  checkSignature(CASCADE, signed, header.kid, trusted, 'revocation cascade');
  try {
    const filter = sections[1].length ? parseFilterCascade(sections[1]) : null;
    const stash = decodeStash(sections[2]);
    for (const name of ['generation', 'base', 'since']) {
      if (checkInteger(header[name], name) < 1) fail(`${name} must be at least 1`);
    }
    checkInteger(header.count, 'count');
    const issued = parseTimestamp(header.issued_at);
    if (parseTimestamp(header.next_update) <= issued) fail('next_update not after issued_at');
    if (parseTimestamp(header.covered_through) > issued) fail('covered_through after issued_at');
    if (typeof header.server !== 'string' || [...header.server].length > 256) fail('server');
    if (/[\x00-\x1f\x7f-\x9f\u2028\u2029]/.test(header.server)) fail('server');
    if (header.kind === 'base') {
      if (!(header.base === header.since && header.since === header.generation)) fail('base numbers');
      if (filter === null) fail('a base carries a filter');
    } else {
      if (!(header.base <= header.since && header.since < header.generation)) fail('delta numbers');
      if (filter !== null) fail('a delta carries no filter');
      if (header.count !== stash.size) fail('count');
    }
    return { header, filter, stash };
  } catch (err) {
    throw new LicenseKeyError('malformed', `The revocation cascade is malformed (${err.message}).`);
  }
}

/**
 * Section 13. `base` and each of `options.deltas` are the files' bytes (Buffer). Returns the
 * cascade with the deltas applied in order; throws LicenseKeyError.
 */
function verifyRevocationCascade(base, trustedPublicKeyPems, options = {}) {
  const at = toMillis(options.at);
  const trusted = trustedByKid(trustedPublicKeyPems);
  const first = readCascadePiece(base, trusted);
  if (first.header.kind !== 'base') {
    throw new LicenseKeyError('revocation_delta_refused', 'This is a delta; start from a base.');
  }
  const c = {
    kind: 'cascade',
    base: first.header,
    filter: first.filter,
    stash: new Map(first.stash),
    generation: first.header.generation,
    nextUpdate: parseTimestamp(first.header.next_update),
    coveredThrough: parseTimestamp(first.header.covered_through),
    coveredThroughText: first.header.covered_through,
    server: first.header.server,
  };
  for (const data of options.deltas || []) {
    const { header, stash } = readCascadePiece(data, trusted);
    if (header.kind !== 'delta') {
      throw new LicenseKeyError('revocation_delta_refused', 'A base cannot be applied as a delta.');
    }
    if (header.base !== c.base.generation) {
      throw new LicenseKeyError('revocation_delta_refused', `The delta applies to base ${header.base}.`);
    }
    if (header.since !== c.generation) {
      throw new LicenseKeyError(
        'revocation_delta_refused',
        `The delta follows generation ${header.since}, not ${c.generation}: a delta is missing.`,
      );
    }
    for (const [serial, until] of stash) c.stash.set(serial, until);
    c.generation = header.generation;
    c.nextUpdate = parseTimestamp(header.next_update);
    if (parseTimestamp(header.covered_through) > c.coveredThrough) {
      c.coveredThrough = parseTimestamp(header.covered_through);
      c.coveredThroughText = header.covered_through;
    }
  }
  if (at - c.nextUpdate > CLOCK_SKEW_MS) {
    throw new LicenseKeyError('stale_revocation_list', 'The revocation cascade is out of date.');
  }
  return c;
}

// Section 13.4: what a cascade says of a key: { answer: 'revoked' | 'superseded' |
// 'not_revoked' | 'unknown', until (ms, superseded only) }.
function cascadeAnswer(c, serial, issuedAt, expiresAt) {
  if (c.stash.has(serial)) {
    const until = c.stash.get(serial);
    return until === null ? { answer: 'revoked' } : { answer: 'superseded', until };
  }
  const issued = parseTimestamp(issuedAt);
  if (issued <= parseTimestamp(c.base.covered_through)) {
    if (expiresAt !== null &&
      parseTimestamp(c.base.issued_at) - parseTimestamp(expiresAt) > CLOCK_SKEW_MS) {
      return { answer: 'unknown' }; // expired before the base: not in its filter
    }
    const revoked = cascadeHas(c.filter, Buffer.from(serial, 'utf8'));
    return { answer: revoked ? 'revoked' : 'not_revoked' };
  }
  return { answer: issued <= c.coveredThrough ? 'not_revoked' : 'unknown' };
}

// Within step 5: throws for a revoked key; returns true when the cascade cannot speak for it.
function checkCascade(c, claims, at, refuse) {
  if (at - c.nextUpdate > CLOCK_SKEW_MS) {
    throw refuse(
      'stale_revocation_list',
      `The revocation cascade was due to be replaced; fetch a current one from ${c.server || 'the server'}.`,
    );
  }
  const { answer, until } = cascadeAnswer(c, claims.serial, claims.issued_at, claims.expires_at);
  if (answer === 'revoked') {
    throw refuse('revoked', `The license key ${claims.serial} is revoked (cascade generation ${c.generation}).`);
  }
  if (answer === 'superseded' && at - until > CLOCK_SKEW_MS) {
    throw refuse('revoked', `The license key ${claims.serial} was superseded by a replacement; its overlap ended.`);
  }
  return answer === 'unknown';
}

/** Section 10. Returns the new public key as PEM; throws LicenseKeyError. */
function followRotation(statement, trustedPublicKeyPems) {
  const trusted = trustedByKid(trustedPublicKeyPems);
  let envelope;
  let obj;
  let newKey;
  try {
    envelope = openEnvelope(ROTATION, statement);
    obj = parsePayload(envelope.payload);
    requireMembers(obj, ['issued_at', 'kid', 'new_kid', 'new_public_key', 'version'], 'rotation');
    if (obj.version !== 1) fail('unsupported version');
    parseTimestamp(obj.issued_at);
    checkKid(obj.kid);
    checkKid(obj.new_kid);
    if (typeof obj.new_public_key !== 'string') fail('new_public_key');
    newKey = publicKeyFromRaw(b64urlDecode(obj.new_public_key)); // refuses small-order keys
    if (newKey.kid !== obj.new_kid) fail('new_kid does not match');
    requireCanonical(obj, envelope.payload);
  } catch (err) {
    throw new LicenseKeyError('malformed', `The rotation statement is malformed (${err.message}).`);
  }
  checkSignature(ROTATION, envelope, obj.kid, trusted, 'rotation statement');
  return newKey.key.export({ format: 'pem', type: 'spki' });
}

module.exports = {
  verify,
  verifyRevocationList,
  verifyRevocationCascade,
  cascadeAnswer,
  parseFilterCascade,
  cascadeHas,
  followRotation,
  decode: (keyOrFile) => decode(keyOrFile).claims,
  canonical,
  kidOfPem: (pem) => publicKeyFromPem(pem).kid,
  publicKeysFromPem,
  LicenseKeyError,
};
