// Single functions of the page's modules, for the unit tests:
//   node modules.mjs requests.json -> one answer per request ({ok, value} or {ok: false, error})
// A request: {fn: "money" | "fdiv" | "isqrt" | "vkeySha256" | "loadAccount" | "loadParams" | "normCdf" | "black76",
// args: [...]}.
import { readFile } from "node:fs/promises";
import { loadAccount, loadParams, parseJson } from "../../web/src/files.js";
import { fdiv, isqrt } from "../../web/src/fixedpoint.js";
import { money } from "../../web/src/money.js";
import { black76Delta, black76Price, normCdf } from "../../web/src/pricing.js";
import { vkeySha256 } from "../../web/src/vkey.js";

const FNS = {
  money: (x) => money(BigInt(x)),
  fdiv: (n, d) => fdiv(BigInt(n), BigInt(d)).toString(),
  isqrt: (n) => isqrt(BigInt(n)).toString(),
  vkeySha256: (text) => vkeySha256(JSON.parse(text)),
  normCdf: (x) => normCdf(x),
  black76: (f, k, t, v, isCall) => [black76Price(f, k, t, v, isCall), black76Delta(f, k, t, v, isCall)],
  loadAccount: (text, slots) => {
    const a = loadAccount(parseJson(text, "account"), { slots });
    return a.slots.map((s) => [s.instrumentId.toString(), s.q.toString()]);
  },
  // a params file against a market of named assets in `slots` asset slots, no calibration
  loadParams: (text, names, slots) => {
    const market = { profile: { assets: slots }, assets: names.map((name) => ({ name })), calibratedRho: null };
    const p = loadParams(parseJson(text, "params"), market);
    return { mm_factor: p.mmFactor.toString(), kappa: p.kappa.map(String), rho: p.rho.map((row) => row.map(String)) };
  },
};
const out = [];
for (const { fn, args } of JSON.parse(await readFile(process.argv[2], "utf8"))) {
  try {
    out.push({ ok: true, value: await FNS[fn](...args) });
  } catch (err) {
    out.push({ ok: false, error: err.message });
  }
}
process.stdout.write(JSON.stringify(out));
