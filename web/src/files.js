// The five files a user holds, read in the page: strict about what the audit relies on
// (format tags, exact integers, the canonical slots of an account, the parameters resolved
// against the market's assets) and every error names the file's field and the rule.
//
// Integers are exact: a JSON integer or a decimal string of digits (docs/formats.md). Where
// the browser gives the source text of a number (JSON.parse source access), any size is
// read exactly; elsewhere a JSON number beyond 2**53 is refused (zkmargin writes those as
// strings), never rounded.

import { MODEL } from "./aggregation.js";
import { SCALE } from "./fixedpoint.js";
import { FIELD_P } from "./hashes.js";

export class AuditInputError extends Error {
  constructor(field, rule) {
    super(`${field}: ${rule}`);
    this.name = "AuditInputError";
    this.field = field;
  }
}

const fail = (field, rule) => {
  throw new AuditInputError(field, rule);
};

class JsonNumber {
  constructor(value, source) {
    this.value = value;
    this.source = source;
  }
}

/** JSON text -> value, numbers kept as JsonNumber with their source text when available. */
export function parseJson(text, what) {
  if (typeof text !== "string" || text.trim() === "") fail(what, "the file is empty");
  try {
    return JSON.parse(text, (key, value, context) =>
      typeof value === "number" ? new JsonNumber(value, context?.source ?? null) : value,
    );
  } catch (err) {
    return fail(what, `not valid JSON (${err.message})`);
  }
}

/** Plain JSON values again (for hashing the verification key and handing it to snarkjs). */
export function plain(value) {
  if (value instanceof JsonNumber) return value.value;
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

const DIGITS = /^-?(0|[1-9][0-9]*)$/;

/** An exact integer from a JSON integer or a decimal string. */
export function int(value, field) {
  if (value instanceof JsonNumber) {
    if (value.source !== null) {
      if (!DIGITS.test(value.source)) fail(field, `must be an integer, got ${value.source}`);
      return BigInt(value.source);
    }
    if (!Number.isInteger(value.value)) fail(field, `must be an integer, got ${value.value}`);
    if (!Number.isSafeInteger(value.value)) {
      fail(field, "a JSON number beyond 2**53 is not exact here: write it as a decimal string");
    }
    return BigInt(value.value);
  }
  if (typeof value === "string" && DIGITS.test(value)) return BigInt(value);
  return fail(field, `must be an integer (a JSON integer or a decimal string), got ${brief(value)}`);
}

function brief(value) {
  if (value === undefined) return "nothing (missing)";
  const text = JSON.stringify(plain(value));
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function within(value, field, lo, hi, bound) {
  if (value < lo || value >= hi) fail(field, `must satisfy ${bound}, got ${value}`);
  return value;
}

function object(value, field) {
  if (!value || typeof value !== "object" || Array.isArray(value) || value instanceof JsonNumber) {
    fail(field, "expected a JSON object");
  }
  return value;
}

function list(value, field, length) {
  if (!Array.isArray(value)) fail(field, "expected a list");
  if (length !== undefined && value.length !== length) {
    fail(field, `expected ${length} entries, got ${value.length}`);
  }
  return value;
}

// Tags the page no longer reads, and why: never migrated silently (as the engine).
const RETIRED = {
  "zkmargin/params@1":
    "a ZKPM-1 params file: this audit computes ZKPM-2, whose aggregation credits offsetting " +
    "positions through the signs in rho, so parameters approved for ZKPM-1 are not approved " +
    'for it; the venue publishes them as "format": "zkmargin/params@2" with "model": "ZKPM-2"',
};

function tagged(doc, kinds, what) {
  object(doc, what);
  if (Object.hasOwn(RETIRED, doc.format)) fail(`${what}.format`, RETIRED[doc.format]);
  if (!kinds.includes(doc.format)) {
    fail(`${what}.format`, `expected ${kinds.map((k) => JSON.stringify(k)).join(" or ")}, got ${brief(doc.format)}`);
  }
  return doc;
}

const TWO = (bits) => 1n << BigInt(bits);

// ------------------------------------------------------------------ market

export function loadMarket(doc, profiles) {
  tagged(doc, ["zkmargin/market@1"], "market");
  const profile = profiles[doc.profile];
  if (!profile) fail("market.profile", `unknown profile ${brief(doc.profile)}; known: ${Object.keys(profiles).join(", ")}`);
  const epoch = within(int(doc.epoch, "market.epoch"), "market.epoch", 0n, TWO(64), "0 <= epoch < 2**64");
  const assets = list(doc.assets, "market.assets", profile.assets).map((a, i) => {
    const where = `market.assets[${i}]`;
    object(a, where);
    return {
      name: a.name ?? null,
      spot: int(a.spot, `${where}.spot`),
      depth: int(a.depth, `${where}.depth`),
    };
  });
  const rows = new Map();
  list(doc.rows, "market.rows").forEach((r, i) => {
    object(r, `market.rows[${i}]`);
    const id = int(r.instrument_id, `market.rows[${i}].instrument_id`);
    const where = `market.rows[id=${id}]`;
    within(id, `${where}.instrument_id`, 0n, 4n ** BigInt(profile.depth), `0 <= id < 4**${profile.depth}`);
    if (rows.has(id)) fail(where, "the instrument id appears twice");
    const asset = Number(int(r.asset, `${where}.asset`));
    if (!(asset >= 0 && asset < profile.assets)) fail(`${where}.asset`, `must be an asset index 0..${profile.assets - 1}`);
    rows.set(id, {
      instrumentId: id,
      name: typeof r.name === "string" ? r.name : String(id),
      asset,
      mark: int(r.mark, `${where}.mark`),
      delta: int(r.delta, `${where}.delta`),
      ra: list(r.ra, `${where}.ra`, 16).map((v, s) => int(v, `${where}.ra[${s}]`)),
      cLong: int(r.c_long, `${where}.c_long`),
      cShort: int(r.c_short, `${where}.c_short`),
    });
  });
  const rho = doc.calibrated_rho == null ? null : matrix(doc.calibrated_rho, "market.calibrated_rho");
  return {
    profile,
    epoch,
    asOf: typeof doc.as_of === "string" ? doc.as_of : "",
    assets,
    rows,
    calibratedRho: rho,
    source: doc.source ?? null, // read by pricing.js for the liquidation prices alone
    stated: {
      treeRoot: int(doc.tree_root, "market.tree_root"),
      assetHash: int(doc.asset_hash, "market.asset_hash"),
      marketRoot: int(doc.market_root, "market.market_root"),
    },
  };
}

function matrix(value, field) {
  return list(value, field).map((row, a) => list(row, `${field}[${a}]`).map((v, b) => int(v, `${field}[${a}][${b}]`)));
}

// ------------------------------------------------------------------ params

/** The governed integers resolved to the profile's A entries against the market's assets. */
export function loadParams(doc, market) {
  tagged(doc, ["zkmargin/params@2"], "params");
  if (doc.model !== MODEL) {
    fail("params.model", `must be ${JSON.stringify(MODEL)} (the model this audit computes), got ${brief(doc.model)}`);
  }
  const A = market.profile.assets;
  const names = market.assets.filter((a) => a.name !== null).map((a) => a.name);
  const mmFactor = int(doc.mm_factor, "params.mm_factor");
  if (mmFactor <= 0n || mmFactor > SCALE) fail("params.mm_factor", `must satisfy 0 < mm_factor <= 10**6, got ${mmFactor}`);
  let kappa;
  if (Array.isArray(doc.kappa)) {
    if (doc.kappa.length !== names.length && doc.kappa.length !== A) {
      fail("params.kappa", `must have one entry per market asset (${names.length}) or per asset slot (A = ${A}), got ${doc.kappa.length}`);
    }
    kappa = doc.kappa.map((v, i) => int(v, `params.kappa[${i}]`));
  } else {
    object(doc.kappa, "params.kappa");
    for (const name of Object.keys(doc.kappa)) {
      if (!names.includes(name)) fail(`params.kappa.${name}`, `unknown asset ${JSON.stringify(name)}; market assets: ${names.join(", ")}`);
    }
    kappa = names.map((name) => {
      if (!(name in doc.kappa)) fail(`params.kappa.${name}`, "required: every market asset needs a kappa");
      return int(doc.kappa[name], `params.kappa.${name}`);
    });
  }
  kappa.forEach((k, i) => within(k, `params.kappa[${i}]`, 0n, TWO(32), "0 <= kappa < 2**32"));
  while (kappa.length < A) kappa.push(0n);
  let rho;
  if (doc.rho === "from calibration") {
    rho = market.calibratedRho ?? onesRho(A, names.length);
  } else {
    const given = matrix(doc.rho, "params.rho");
    const n = given.length;
    if (n !== names.length && n !== A) {
      fail("params.rho", `must be n x n with n = the number of market assets (${names.length}) or A = ${A}, got ${n} rows`);
    }
    given.forEach((row, a) => {
      if (row.length !== n) fail(`params.rho[${a}]`, `must have ${n} entries (a square matrix), got ${row.length}`);
    });
    rho = Array.from({ length: A }, (_, a) =>
      Array.from({ length: A }, (_, b) => (a < n && b < n ? given[a][b] : a === b ? SCALE : 0n)),
    );
  }
  if (rho.length !== A || rho.some((row) => row.length !== A)) fail("params.rho", `must resolve to ${A} x ${A}`);
  for (let a = 0; a < A; a++) {
    if (rho[a][a] !== SCALE) fail(`params.rho[${a}][${a}]`, "the diagonal must be 10**6");
    for (let b = 0; b < A; b++) {
      if (rho[a][b] !== rho[b][a]) fail(`params.rho[${a}][${b}]`, "rho must be symmetric");
      if (rho[a][b] > SCALE || rho[a][b] < -SCALE) fail(`params.rho[${a}][${b}]`, "must satisfy |rho| <= 10**6");
    }
  }
  return { mmFactor, kappa, rho };
}

function onesRho(size, used) {
  return Array.from({ length: size }, (_, i) =>
    Array.from({ length: size }, (_, j) => (i === j || (i < used && j < used) ? SCALE : 0n)),
  );
}

// ------------------------------------------------------------------ account

/** The account with its positions as the profile's k canonical slots. */
export function loadAccount(doc, profile) {
  tagged(doc, ["zkmargin/account@1"], "account");
  const accountId = within(int(doc.account_id, "account.account_id"), "account.account_id", 0n, TWO(64), "0 <= account_id < 2**64");
  const nonce = within(int(doc.nonce, "account.nonce"), "account.nonce", 0n, TWO(64), "0 <= nonce < 2**64");
  const salt = within(int(doc.salt, "account.salt"), "account.salt", 0n, FIELD_P, "0 <= salt < p");
  const cash = within(int(doc.cash, "account.cash"), "account.cash", -TWO(80) + 1n, TWO(80), "|cash| < 2**80");
  const seen = new Map();
  const kept = [];
  list(doc.positions, "account.positions").forEach((p, i) => {
    const where = `account.positions[${i}]`;
    object(p, where);
    const id = int(p.instrument_id, `${where}.instrument_id`);
    if (id < 0n) fail(`${where}.instrument_id`, `must be >= 0, got ${id}`);
    const q = within(int(p.q, `${where}.q`), `${where}.q`, -TWO(48) + 1n, TWO(48), "|q| < 2**48");
    if (seen.has(id)) fail(`${where}.instrument_id`, `duplicate instrument id ${id} (also at account.positions[${seen.get(id)}])`);
    seen.set(id, i);
    if (q !== 0n) kept.push({ instrumentId: id, q });
  });
  if (kept.length > profile.slots) {
    fail("account.positions", `at most k = ${profile.slots} non-zero positions fit the profile, got ${kept.length}`);
  }
  kept.sort((a, b) => (a.instrumentId < b.instrumentId ? -1 : 1));
  while (kept.length < profile.slots) kept.push({ instrumentId: 0n, q: 0n });
  return {
    label: typeof doc.label === "string" ? doc.label : "",
    accountId,
    nonce,
    salt,
    cash,
    slots: kept,
  };
}

// ------------------------------------------------------------------ proof bundles

const ENTRY_STATUS_SHIFT = 64n;
const ENTRY_SHORTFALL_SHIFT = 66n;
const ENTRY_BITS = 126n;

function signals(doc, width, where) {
  return list(doc.public_signals, `${where}.public_signals`, width).map((v, i) => {
    const x = int(v, `${where}.public_signals[${i}]`);
    return within(x, `${where}.public_signals[${i}]`, 0n, FIELD_P, "0 <= x < r");
  });
}

/** A one-account bundle (proof@1) or a batch bundle (batch-proof@1), uniformly. */
export function loadBundle(doc, profiles) {
  tagged(doc, ["zkmargin/proof@1", "zkmargin/batch-proof@1"], "proof");
  if (!profiles[doc.profile]) fail("proof.profile", `unknown profile ${brief(doc.profile)}`);
  if (typeof doc.vkey_sha256 !== "string" || !/^[0-9a-f]{64}$/.test(doc.vkey_sha256)) {
    fail("proof.vkey_sha256", "expected 64 lower-case hex digits");
  }
  object(doc.proof, "proof.proof");
  const common = {
    profile: doc.profile,
    vkeySha256: doc.vkey_sha256,
    marketEpoch: int(doc.market_epoch, "proof.market_epoch"),
    proof: plain(doc.proof),
  };
  if (doc.format === "zkmargin/proof@1") {
    const s = signals(doc, 5, "proof");
    return {
      ...common,
      batch: false,
      publicSignals: s,
      status: s[0],
      shortfall: s[1],
      commitment: s[2],
      marketRoot: s[3],
      paramsHash: s[4],
    };
  }
  const size = Number(int(doc.batch_size, "proof.batch_size"));
  if (!(size >= 1)) fail("proof.batch_size", "must be at least 1");
  const s = signals(doc, 4 + Math.ceil(size / 2), "proof");
  const count = Number(s[3]);
  if (!(count >= 1 && count <= size)) fail("proof.public_signals[3]", `the count must be 1..${size}, got ${s[3]}`);
  const entries = [];
  const mask = (1n << ENTRY_BITS) - 1n;
  for (let i = 0; i < count; i++) {
    const word = s[4 + (i >> 1)];
    const entry = i % 2 === 0 ? word & mask : word >> ENTRY_BITS;
    entries.push({
      accountId: entry & ((1n << 64n) - 1n),
      status: Number((entry >> ENTRY_STATUS_SHIFT) & 3n),
      shortfall: entry >> ENTRY_SHORTFALL_SHIFT,
    });
  }
  const paths = new Map();
  for (const [id, raw] of Object.entries(object(doc.paths, "proof.paths"))) {
    const where = `proof.paths.${id}`;
    if (!/^(0|[1-9][0-9]*)$/.test(id)) fail(where, "a path is keyed by an account id (decimal digits)");
    object(raw, where);
    paths.set(BigInt(id), {
      position: int(raw.position, `${where}.position`),
      siblings: list(raw.siblings, `${where}.siblings`).map((level, l) =>
        list(level, `${where}.siblings[${l}]`, 3).map((v, j) => int(v, `${where}.siblings[${l}][${j}]`)),
      ),
    });
  }
  return {
    ...common,
    batch: true,
    batchSize: size,
    publicSignals: s,
    accountsRoot: s[0],
    marketRoot: s[1],
    paramsHash: s[2],
    entries,
    paths,
    accountsEpoch: int(doc.accounts_epoch, "proof.accounts_epoch"),
  };
}

/** The published accounts tree: ids strictly increasing, each at its place in the list. */
export function loadAccountsTree(doc) {
  tagged(doc, ["zkmargin/accounts-tree@1"], "accounts tree");
  const depth = Number(int(doc.depth, "accounts tree.depth"));
  let previous = -1n;
  const leaves = list(doc.leaves, "accounts tree.leaves").map((pair, i) => {
    list(pair, `accounts tree.leaves[${i}]`, 2);
    const id = int(pair[0], `accounts tree.leaves[${i}][0]`);
    if (id <= previous) fail(`accounts tree.leaves[${i}][0]`, "account ids must strictly increase (each id once)");
    previous = id;
    return [id, int(pair[1], `accounts tree.leaves[${i}][1]`)];
  });
  return { depth, root: int(doc.root, "accounts tree.root"), leaves };
}
