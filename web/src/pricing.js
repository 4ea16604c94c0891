// Section 4 in float64, as the engine's market builder (engine/market_builder.py) does it:
// Black-76 on a forward equal to the spot with a zero rate, the 16 scenarios, the scan range
// and the volatility shocks, every value rounded half to even x 10^6. The page uses it for
// one thing: to reprice the instruments an account holds at other spots of one asset, for
// the liquidation prices (liquidation.js). The audit never uses it: what the proof and the
// margin rest on are the market's integer rows, which the page takes as published.
//
// The market file carries its source (quotes, instruments, row settings with the volatility
// forecasts used), so nothing here needs a price history. A quote with a history but no
// recorded forecast would need the engine's GARCH fit: such an asset gets no price here.

import { AuditInputError } from "./files.js";

export const SCALE_FLOAT = 1e6;
const VALUE_LIMIT = 2 ** 48;
const DELTA_MAX = 16 * SCALE_FLOAT;
const SPOT_FLOOR_FRACTION = 1e-6;
const DAYS_PER_YEAR = 365;
const DEFAULT_HAIRCUT = 0.02;
const DEFAULT_BORROW = 0.02;
/** Spot moves in scan ranges, by scenario (engine/scenarios.py). */
export const MOVES = [0, 0, 1 / 3, 1 / 3, -1 / 3, -1 / 3, 2 / 3, 2 / 3, -2 / 3, -2 / 3, 1, 1, -1, -1, 3, -3];
const ROW_DEFAULTS = {
  z: 3.0, h_days: 1.0, m_min: 0.05, m_max: 0.5, v_up: 0.45, v_dn: 0.25, v_floor: 0.1,
  w_ext: 0.35, perp_charge: 0.01, short_option_min: 0.01,
};

// ------------------------------------------------------------------ the normal CDF

const SQRT1_2 = Math.SQRT1_2;
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const ONE_OVER_SQRT_PI = 1 / Math.sqrt(Math.PI);

/** erf(z) for 0 <= z < 2: e^(-z^2) times a series of positive terms (no cancellation). */
function erfSeries(z) {
  const z2 = 2 * z * z;
  let term = z;
  let sum = z;
  for (let n = 1; n < 200 && term > sum * 1e-17; n++) {
    term *= z2 / (2 * n + 1);
    sum += term;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-z * z) * sum;
}

/** erfc(z) for z >= 2: the continued fraction z + (1/2)/(z + 1/(z + (3/2)/(z + ...))), Lentz's method. */
function erfcFraction(z) {
  const tiny = 1e-300;
  let f = z;
  let c = z;
  let d = 0;
  for (let n = 1; n < 5000; n++) {
    const a = n / 2;
    d = z + a * d;
    d = Math.abs(d) < tiny ? 1 / tiny : 1 / d;
    c = z + a / c;
    if (Math.abs(c) < tiny) c = tiny;
    const step = c * d;
    f *= step;
    if (Math.abs(step - 1) < 1e-16) break;
  }
  return (ONE_OVER_SQRT_PI * Math.exp(-z * z)) / f;
}

/**
 * The standard normal distribution function N(x): within 6e-16 of scipy's everywhere, and
 * relatively within 3e-15 in the lower tail past x = -2 sqrt 2 (tests/web/test_page_modules.py).
 */
export function normCdf(x) {
  if (Number.isNaN(x)) return NaN;
  const z = Math.abs(x) * SQRT1_2;
  if (z < 2) {
    const half = 0.5 * erfSeries(z);
    return x >= 0 ? 0.5 + half : 0.5 - half;
  }
  const tail = 0.5 * erfcFraction(z);
  return x > 0 ? 1 - tail : tail;
}

// ------------------------------------------------------------------ Black-76

function d1(f, k, t, v) {
  const sd = v * Math.sqrt(t);
  return [(Math.log(f / k) + 0.5 * sd * sd) / sd, sd];
}

/** Value of one option, zero rate; its intrinsic value when T <= 0 or vol = 0. */
export function black76Price(f, k, t, v, isCall) {
  if (!(t > 0 && v > 0)) return isCall ? Math.max(f - k, 0) : Math.max(k - f, 0);
  const [x, sd] = d1(f, k, t, v);
  const x2 = x - sd;
  const value = isCall ? f * normCdf(x) - k * normCdf(x2) : k * normCdf(-x2) - f * normCdf(-x);
  return Math.max(value, 0);
}

/** dValue/dForward: N(d1) for a call, N(d1) - 1 for a put; the payoff's slope when T <= 0. */
export function black76Delta(f, k, t, v, isCall) {
  if (!(t > 0 && v > 0)) {
    if (isCall) return f > k ? 1 : 0;
    return f < k ? -1 : 0;
  }
  const n1 = normCdf(d1(f, k, t, v)[0]);
  return isCall ? n1 : n1 - 1;
}

// ------------------------------------------------------------------ scenarios

/** m_a = clamp(z * sigma_eff * sqrt(h_days / 365), m_min, m_max). */
export function scanRange(sigmaEff, config) {
  const raw = config.z * sigmaEff * Math.sqrt(config.h_days / 365.0);
  return Math.min(Math.max(raw, config.m_min), config.m_max);
}

/** The vol multipliers (up, down) of an option with `days` whole days to expiry. */
export function volMultipliers(days, config) {
  const t = Math.max(days, 1.0);
  const g = (30.0 / t) ** (t <= 30.0 ? 0.3 : 0.13);
  return [1.0 + config.v_up * g, Math.max(config.v_floor, 1.0 - config.v_dn * g)];
}

/** round(x * 10^6), ties to even, as a BigInt; an error naming the field past its bound. */
export function roundScaled(x, field, limit, bound) {
  const v = x * SCALE_FLOAT;
  if (!Number.isFinite(v)) throw new AuditInputError(field, `must be finite, got ${x}`);
  const lower = Math.floor(v);
  const rest = v - lower;
  const r = rest < 0.5 ? lower : rest > 0.5 ? lower + 1 : lower % 2 === 0 ? lower : lower + 1;
  if (Math.abs(r) >= limit) throw new AuditInputError(field, `must satisfy ${bound}, got ${x}`);
  return BigInt(r);
}

// ------------------------------------------------------------------ the market's source

const real = (value, field) => {
  const x = value?.value ?? value; // a JsonNumber of files.js, or a plain number
  if (typeof x !== "number" || !Number.isFinite(x)) {
    throw new AuditInputError(field, `must be a finite number, got ${JSON.stringify(x) ?? "nothing"}`);
  }
  return x;
};

const dayNumber = (text, field) => {
  if (typeof text !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    throw new AuditInputError(field, `must be an ISO date YYYY-MM-DD, got ${JSON.stringify(text) ?? "nothing"}`);
  }
  const ms = Date.UTC(Number(text.slice(0, 4)), Number(text.slice(5, 7)) - 1, Number(text.slice(8, 10)));
  return Math.round(ms / 86_400_000);
};

function perAsset(value, field) {
  if (value == null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new AuditInputError(field, "expected an object keyed by asset");
  return Object.fromEntries(Object.entries(value).map(([name, v]) => [name, real(v, `${field}.${name}`)]));
}

/**
 * The market's `source` (as files.js keeps it, unread): the day, the quotes in asset order,
 * the instruments by id and the row settings. Errors name `market.source....`.
 */
export function readSource(source, market) {
  const at = "market.source";
  if (!source || typeof source !== "object") {
    throw new AuditInputError(at, "missing: the market file has no quotes to reprice from");
  }
  const asOf = dayNumber(source.as_of, `${at}.as_of`);
  if (!Array.isArray(source.assets)) throw new AuditInputError(`${at}.assets`, "expected a list");
  const quotes = source.assets.map((q, a) => {
    const where = `${at}.assets[${a}]`;
    return {
      name: String(q?.name),
      spot: real(q?.spot, `${where}.spot`),
      vol: real(q?.vol, `${where}.vol`),
      hasHistory: Array.isArray(q?.history) && q.history.length > 0,
    };
  });
  quotes.forEach((q, a) => {
    if (market.assets[a]?.name !== q.name) {
      throw new AuditInputError(`${at}.assets[${a}].name`, `is ${q.name}, but the market's asset ${a} is ${market.assets[a]?.name}`);
    }
  });
  const index = new Map(quotes.map((q, a) => [q.name, a]));
  const cfg = source.row_config ?? {};
  const config = Object.fromEntries(
    Object.entries(ROW_DEFAULTS).map(([key, dflt]) => [key, cfg[key] == null ? dflt : real(cfg[key], `${at}.row_config.${key}`)]),
  );
  for (const key of ["haircut", "borrow", "forecast", "scan_vol"]) config[key] = perAsset(cfg[key], `${at}.row_config.${key}`);
  if (!Array.isArray(source.instruments)) throw new AuditInputError(`${at}.instruments`, "expected a list");
  const instruments = new Map();
  source.instruments.forEach((spec, j) => {
    const where = `${at}.instruments[${j}]`;
    const idValue = real(spec?.id, `${where}.id`);
    if (!Number.isSafeInteger(idValue) || idValue < 0) throw new AuditInputError(`${where}.id`, `must be an integer >= 0, got ${idValue}`);
    const id = BigInt(idValue);
    const asset = index.get(spec?.asset);
    if (asset === undefined) throw new AuditInputError(`${where}.asset`, `unknown asset ${JSON.stringify(spec?.asset)}`);
    const kind = ["spot", "perp", "call", "put"].indexOf(spec.kind);
    if (kind < 0) throw new AuditInputError(`${where}.kind`, `must be one of spot, perp, call, put, got ${JSON.stringify(spec.kind)}`);
    const q = quotes[asset];
    const option = kind >= 2;
    const days = option && spec.expiry != null ? dayNumber(spec.expiry, `${where}.expiry`) - asOf : 0;
    instruments.set(id, {
      id,
      asset,
      kind,
      strike: spec.strike == null ? null : real(spec.strike, `${where}.strike`), // null: at the spot
      mark: spec.mark == null ? null : real(spec.mark, `${where}.mark`),
      vol: option ? (spec.vol == null ? q.vol : real(spec.vol, `${where}.vol`)) : 0,
      days: Math.max(days, 0),
      tYears: option ? days / DAYS_PER_YEAR : 0,
    });
  });
  return { quotes, instruments, config };
}

/**
 * Scan range m_a of one quoted asset, or null when it cannot be had here (a history but no
 * recorded forecast: the engine would fit a GARCH model to it).
 */
export function assetScanRange(source, a) {
  const q = source.quotes[a];
  const charged = source.config.scan_vol[q.name]; // after the anti-procyclicality tools
  if (charged !== undefined) return scanRange(charged, source.config);
  const forecast = source.config.forecast[q.name];
  if (forecast === undefined && q.hasHistory) return null;
  return scanRange(forecast === undefined ? q.vol : Math.max(q.vol, forecast), source.config);
}

// ------------------------------------------------------------------ rows

function unitValue(spec, baseSpot, spot, vol) {
  if (spec.kind >= 2) return black76Price(spot, spec.strike ?? baseSpot, spec.tYears, vol, spec.kind === 2);
  if (spec.kind === 1) return (spec.mark ?? baseSpot) + (spot - baseSpot);
  return spot;
}

/**
 * The integer row of one instrument with its asset's spot at `spot` (everything else as
 * quoted), as engine/market_builder.py builds it; `m` is the asset's scan range.
 */
export function instrumentRow(spec, source, spot, m) {
  const { config } = source;
  const name = source.quotes[spec.asset].name;
  const base = unitValue(spec, spot, spot, spec.vol);
  const [up, down] = volMultipliers(spec.days, config);
  const where = `instrument ${spec.id} at spot ${spot}`;
  const ra = MOVES.map((move, s) => {
    const shockedSpot = Math.max(spot * (1.0 + move * m), spot * SPOT_FLOOR_FRACTION);
    const shockedVol = spec.vol * (s >= 14 ? 1.0 : s % 2 === 0 ? up : down);
    const weight = s >= 14 ? config.w_ext : 1.0;
    const change = (unitValue(spec, spot, shockedSpot, shockedVol) - base) * weight;
    return roundScaled(change, `${where}.ra[${s}]`, VALUE_LIMIT, "|RA[s]| x SCALE < 2**48");
  });
  const delta = spec.kind >= 2 ? black76Delta(spot, spec.strike ?? spot, spec.tYears, spec.vol, spec.kind === 2) : 1.0;
  const longFrac = spec.kind === 0 ? (config.haircut[name] ?? DEFAULT_HAIRCUT) : spec.kind === 1 ? config.perp_charge : 0;
  const shortFrac =
    spec.kind === 0 ? (config.borrow[name] ?? DEFAULT_BORROW) : spec.kind === 1 ? config.perp_charge : config.short_option_min;
  return {
    instrumentId: spec.id,
    asset: spec.asset,
    mark: roundScaled(base, `${where}.mark`, VALUE_LIMIT, "|M| x SCALE < 2**48"),
    delta: roundScaled(delta, `${where}.delta`, DELTA_MAX + 1, "|delta| <= 16 x SCALE"),
    ra,
    cLong: roundScaled(spot * longFrac, `${where}.c_long`, VALUE_LIMIT, "0 <= c_long x SCALE < 2**48"),
    cShort: roundScaled(spot * shortFrac, `${where}.c_short`, VALUE_LIMIT, "0 <= c_short x SCALE < 2**48"),
  };
}
