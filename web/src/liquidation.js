// Liquidation prices in the page, as the CLI's (engine/report.py): per asset the user holds,
// the spot of that asset (every other quote held) at which the account first becomes
// liquidatable, searched on a geometric grid of 64 steps out to 1/100 and 100 times the spot
// and then bisected to a relative 10^-6. Each trial reprices the held instruments of that
// asset (pricing.js) and runs the page's margin (margin.js) on the changed market.
//
// Before any search the repricing must give back the market's own rows of the user's
// instruments at the quoted spots (within one unit per value, the tolerance of
// `zkmargin market check`); where it does not, no price is shown, with the reason.

import { computeMargin } from "./margin.js";
import { assetScanRange, instrumentRow, readSource, roundScaled } from "./pricing.js";

export const SEARCH = { lo: 0.01, hi: 100, grid: 64, relTol: 1e-6 };

const liquidatable = (margin) => margin.status >= 2;

/** Walk a geometric grid from `spot` to `end`; at the first liquidatable point bisect geometrically. */
function firstCrossing(isLiquidatable, spot, end, grid, relTol) {
  const ratio = (end / spot) ** (1.0 / grid);
  let safe = spot;
  for (let i = 1; i <= grid; i++) {
    const trial = i === grid ? end : spot * ratio ** i;
    if (isLiquidatable(trial)) {
      let bad = trial;
      while (Math.max(safe, bad) / Math.min(safe, bad) - 1.0 > relTol) {
        const mid = Math.sqrt(safe * bad);
        if (isLiquidatable(mid)) bad = mid;
        else safe = mid;
      }
      return bad;
    }
    safe = trial;
  }
  return null;
}

function sameRow(mine, theirs) {
  const close = (a, b) => (a > b ? a - b : b - a) <= 1n;
  return (
    mine.asset === theirs.asset &&
    close(mine.mark, theirs.mark) &&
    close(mine.delta, theirs.delta) &&
    close(mine.cLong, theirs.cLong) &&
    close(mine.cShort, theirs.cShort) &&
    mine.ra.every((v, s) => close(v, theirs.ra[s]))
  );
}

/**
 * Per quoted asset: { asset, name, spot, held, already, below, above, lo, hi, error }.
 * `below`/`above` are null when no liquidation lies within [lo, hi]; `error` says why an
 * asset has no price (then below/above are null too). Throws an AuditInputError when the
 * market's source cannot be read at all.
 */
export function liquidationPrices(market, params, account, opts = {}) {
  const { lo, hi, grid, relTol } = { ...SEARCH, ...opts };
  const source = readSource(market.source, market);
  const heldIds = account.slots.filter((s) => s.q !== 0n).map((s) => s.instrumentId);
  // the rows the margin reads (held instruments only): each trial copies these, not the market's
  const heldRows = new Map(heldIds.filter((id) => market.rows.has(id)).map((id) => [id, market.rows.get(id)]));
  const heldAssets = new Set([...heldRows.values()].map((row) => row.asset));
  const margin = (m) => computeMargin(m, params, account);
  const already = liquidatable(margin(market));
  return source.quotes.map((quote, a) => {
    const out = { asset: a, name: quote.name, spot: quote.spot, held: heldAssets.has(a), already: false, below: null, above: null, lo: quote.spot * lo, hi: quote.spot * hi, error: null };
    if (!out.held) return out;
    const m = assetScanRange(source, a);
    if (m === null) return { ...out, error: `${quote.name}: its quote has a price history but the market records no forecast` };
    const specs = [];
    for (const [id, row] of heldRows) {
      if (row.asset !== a) continue;
      const spec = source.instruments.get(id);
      if (!spec) return { ...out, error: `instrument ${id} is not in the market's source` };
      specs.push(spec);
    }
    try {
      const quoted = specs.map((spec) => instrumentRow(spec, source, quote.spot, m));
      const off = quoted.find((row) => !sameRow(row, market.rows.get(row.instrumentId)));
      if (off) return { ...out, error: `the market's row of instrument ${off.instrumentId} does not follow from its quotes` };
      if (already) return { ...out, already: true, below: quote.spot, above: quote.spot };
      const assetsAt = (s) => market.assets.map((entry, b) => (b === a ? { ...entry, spot: roundScaled(s, "spot", 2 ** 53, "spot x SCALE < 2**53") } : entry));
      const isLiquidatable = (s) => {
        const rows = new Map(heldRows);
        for (const spec of specs) rows.set(spec.id, instrumentRow(spec, source, s, m));
        return liquidatable(margin({ ...market, assets: assetsAt(s), rows }));
      };
      return {
        ...out,
        below: firstCrossing(isLiquidatable, quote.spot, out.lo, grid, relTol),
        above: firstCrossing(isLiquidatable, quote.spot, out.hi, grid, relTol),
      };
    } catch (err) {
      return { ...out, error: err.message };
    }
  });
}

/** A spot as the CLI shows it (Python's `{:,.6g}`): six significant digits, separators. */
export function spotText(x) {
  if (x === null) return "-";
  if (x === 0 || !Number.isFinite(x)) return String(x);
  const [mantissa, expText] = x.toExponential(5).split("e");
  const exp = Number(expText);
  const strip = (s) => (s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s);
  if (exp < -4 || exp >= 6) {
    return `${strip(mantissa)}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  const [whole, frac] = strip(x.toFixed(5 - exp)).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return frac === undefined ? grouped : `${grouped}.${frac}`;
}
