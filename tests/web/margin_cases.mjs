// The page's margin and hashes (web/src) on a list of cases, for the parity test:
//   node margin_cases.mjs cases.json  -> one result per case (a JSON list, integers as strings)
import { readFile } from "node:fs/promises";
import { commitment, marketHashes, paramsHash } from "../../web/src/hashes.js";
import { computeMargin } from "../../web/src/margin.js";

const big = (x) => BigInt(x);
const cases = JSON.parse(await readFile(process.argv[2], "utf8"));
const roots = new Map(); // markets repeat across cases: hash each once
const out = cases.map((c) => {
  const market = {
    profile: c.profile,
    epoch: big(c.market.epoch),
    assets: c.market.assets.map(([spot, depth]) => ({ spot: big(spot), depth: big(depth) })),
    rows: new Map(
      c.market.rows.map((r) => [
        big(r.id),
        { instrumentId: big(r.id), asset: r.asset, mark: big(r.mark), delta: big(r.delta), ra: r.ra.map(big), cLong: big(r.c_long), cShort: big(r.c_short) },
      ]),
    ),
  };
  const params = { mmFactor: big(c.params.mm_factor), kappa: c.params.kappa.map(big), rho: c.params.rho.map((row) => row.map(big)) };
  const a = c.account;
  const account = { accountId: big(a.id), nonce: big(a.nonce), salt: big(a.salt), cash: big(a.cash), slots: a.slots.map(([id, q]) => ({ instrumentId: big(id), q: big(q) })) };
  const m = computeMargin(market, params, account);
  if (!roots.has(c.market.key)) roots.set(c.market.key, marketHashes(market).marketRoot);
  return {
    status: m.status,
    shortfall: m.shortfall,
    E: m.E,
    IM: m.IM,
    MM: m.MM,
    R: m.R,
    SC: m.SC,
    LQ: m.LQ,
    W: m.W,
    D_sum: m.D,
    Dir: m.Dir,
    S: m.S,
    U: m.U,
    X: m.X,
    R_dir: m.Rdir,
    worst: m.worstScenario,
    commitment: commitment(account),
    params_hash: paramsHash(params),
    market_root: roots.get(c.market.key),
  };
});
process.stdout.write(JSON.stringify(out, (k, v) => (typeof v === "bigint" ? v.toString() : v)));
