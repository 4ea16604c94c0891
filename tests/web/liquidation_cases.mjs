// The page's repricing and liquidation prices (web/src/pricing.js, liquidation.js) on one
// market, for the parity test:
//   node liquidation_cases.mjs case.json -> {rows: [...], prices: [...]}
// case.json: {profiles, market, params, accounts: [account docs], spots: [[asset, spot], ...]}.
// `rows`: for each [asset, spot], every instrument of that asset repriced at that spot;
// `prices`: for each account, liquidationPrices (spots as numbers, null where none), or
// {thrown}; `refused`: the same for each market of `broken` (market docs).
import { readFile } from "node:fs/promises";
import { loadAccount, loadMarket, loadParams, parseJson } from "../../web/src/files.js";
import { liquidationPrices, spotText } from "../../web/src/liquidation.js";
import { assetScanRange, instrumentRow, readSource } from "../../web/src/pricing.js";

const c = JSON.parse(await readFile(process.argv[2], "utf8"));
const doc = (value, what) => parseJson(JSON.stringify(value), what);
const market = loadMarket(doc(c.market, "market"), c.profiles);
const params = loadParams(doc(c.params, "params"), market);
const source = readSource(market.source, market);
const rows = c.spots.map(([a, spot]) => {
  const m = assetScanRange(source, a);
  return [...source.instruments.values()]
    .filter((spec) => spec.asset === a)
    .map((spec) => {
      const r = instrumentRow(spec, source, spot, m);
      return { id: r.instrumentId, mark: r.mark, delta: r.delta, ra: r.ra, c_long: r.cLong, c_short: r.cShort };
    });
});
const pricesIn = (m) =>
  c.accounts.map((a) => {
    try {
      const prices = liquidationPrices(m, params, loadAccount(doc(a, "account"), m.profile));
      return prices.map((p) => ({ ...p, text: [spotText(p.below), spotText(p.above)] }));
    } catch (err) {
      return { thrown: err.message };
    }
  });
const prices = pricesIn(market);
// the same accounts in markets whose source the page must refuse (see the test)
const refused = (c.broken ?? []).map((m) => pricesIn(loadMarket(doc(m, "market"), c.profiles)));
const texts = (c.numbers ?? []).map(spotText);
process.stdout.write(JSON.stringify({ rows, prices, refused, texts }, (k, v) => (typeof v === "bigint" ? v.toString() : v)));
