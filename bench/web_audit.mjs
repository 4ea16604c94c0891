// The browser audit measured, for bench/web_audit.py:
//   node bench/web_audit.mjs page job.json         -> the page in headless Chromium, timed
//   node bench/web_audit.mjs liquidation job.json  -> the page's liquidation prices, timed per account
//
// page: job = {url, chromium, reps, users: {name: {slot: path}}}. For each user and rep, a
// fresh browser context loads the page (load -> ready), the files are chosen, and the audit
// is timed from the click to the verdict (hashes, margin, snarkjs's verify, liquidation
// prices). A verdict other than "audit passed" ends the run with an error: a benchmark of a
// failing audit measures nothing.
//
// liquidation: job = {profiles, market, params, accounts: [account docs]}; one warm-up, then
// liquidationPrices for every account, each timed with performance.now().
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { chromium } from "playwright-core";
import { loadAccount, loadMarket, loadParams, parseJson } from "../web/src/files.js";
import { liquidationPrices } from "../web/src/liquidation.js";

const [mode, jobPath] = process.argv.slice(2);
const job = JSON.parse(await readFile(jobPath, "utf8"));

async function page() {
  const browser = await chromium.launch({
    executablePath: job.chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const out = {};
  try {
    for (const [name, files] of Object.entries(job.users)) {
      const runs = [];
      for (let rep = 0; rep < job.reps; rep++) {
        const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
        const tab = await context.newPage();
        const loading = performance.now();
        await tab.goto(job.url, { waitUntil: "load" });
        await tab.waitForSelector("body[data-ready=true]", { timeout: 30000 });
        const readyMs = performance.now() - loading;
        for (const [slot, path] of Object.entries(files)) await tab.setInputFiles(`#file-${slot}`, path);
        const clicked = performance.now();
        await tab.click("#run");
        await tab.waitForFunction(
          () => !document.getElementById("run").disabled && (!document.getElementById("result").hidden || !document.getElementById("error").hidden),
          null,
          { timeout: 300000, polling: 10 },
        );
        const auditMs = performance.now() - clicked;
        const verdict = await tab.textContent("#verdict");
        const prices = await tab.$$eval("#liq tbody tr", (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
        await context.close();
        if (!verdict.startsWith("audit passed")) throw new Error(`${name}: the audit did not pass: ${verdict}`);
        runs.push({ ready_ms: readyMs, audit_ms: auditMs, verdict, liquidation: prices });
      }
      out[name] = runs;
    }
  } finally {
    await browser.close();
  }
  return out;
}

function liquidation() {
  const doc = (value, what) => parseJson(JSON.stringify(value), what);
  const market = loadMarket(doc(job.market, "market"), job.profiles);
  const params = loadParams(doc(job.params, "params"), market);
  const accounts = job.accounts.map((a) => loadAccount(doc(a, "account"), market.profile));
  liquidationPrices(market, params, accounts[0]); // warm-up: the JIT, not the search
  return accounts.map((account) => {
    const began = performance.now();
    const prices = liquidationPrices(market, params, account);
    const held = prices.filter((p) => p.held);
    return { ms: performance.now() - began, held: held.length, searched: held.some((p) => !p.already) };
  });
}

const result = mode === "page" ? await page() : mode === "liquidation" ? liquidation() : null;
if (result === null) throw new Error(`unknown mode ${mode}: page or liquidation`);
process.stdout.write(JSON.stringify(result));
