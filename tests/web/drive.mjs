// Drives the audit page in headless Chromium (playwright-core) for the test suite.
//   node drive.mjs scenarios.json   -> prints one JSON result per scenario (a list)
// A scenario: { url, files: {slot: path}, urls: {slot: url}, rpc, gate, viewport,
// screenshot, open_only, drop: [paths] }. Each runs in a fresh page; console errors and page errors are
// collected so a test can insist there were none.
import { readFile } from "node:fs/promises";
import { chromium } from "playwright-core";

const scenarios = JSON.parse(await readFile(process.argv[2], "utf8"));
const browser = await chromium.launch({
  executablePath: process.env.ZKMARGIN_CHROMIUM, // set by tests/web/browser.py (find_chromium)
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
const results = [];
try {
  for (const sc of scenarios) {
    const context = await browser.newContext({ viewport: sc.viewport ?? { width: 1000, height: 900 } });
    const page = await context.newPage();
    const consoleErrors = [];
    const pageErrors = [];
    const requests = [];
    page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(sc.url, { waitUntil: "load" });
    const out = { consoleErrors, pageErrors, requests };
    if (sc.open_only) {
      await page.waitForTimeout(sc.wait_ms ?? 500);
      out.title = await page.title();
      out.images = await page.$$eval("img", (imgs) => imgs.map((i) => ({ src: i.src.slice(0, 40), width: i.naturalWidth })));
    } else {
      await page.waitForSelector("body[data-ready=true]", { timeout: 20000 });
      for (const [slot, path] of Object.entries(sc.files ?? {})) await page.setInputFiles(`#file-${slot}`, path);
      for (const [slot, url] of Object.entries(sc.urls ?? {})) await page.fill(`#url-${slot}`, url);
      if (sc.drop) {
        // the files dropped at once on the drop zone, as a user drags them from a folder
        const files = await Promise.all(sc.drop.map(async (p) => [p.split("/").pop(), await readFile(p, "utf8")]));
        const transfer = await page.evaluateHandle((named) => {
          const dt = new DataTransfer();
          for (const [name, text] of named) dt.items.add(new File([text], name, { type: "application/json" }));
          return dt;
        }, files);
        await page.dispatchEvent("#dropzone", "drop", { dataTransfer: transfer });
        await page.waitForFunction((n) => document.querySelectorAll(".state.loaded").length >= n, files.length);
      }
      if (sc.rpc) {
        await page.click("#chain summary");
        await page.fill("#rpc", sc.rpc);
        await page.fill("#gate", sc.gate ?? "");
      }
      await page.click("#run");
      await page.waitForFunction(
        () => !document.getElementById("run").disabled && (!document.getElementById("result").hidden || !document.getElementById("error").hidden),
        null,
        { timeout: 120000 },
      );
      out.verdict = await page.textContent("#verdict");
      out.error = (await page.isVisible("#error")) ? await page.textContent("#error") : null;
      out.checks = await page.$$eval("#checks li", (lis) =>
        lis.map((li) => ({ name: li.dataset.check, ok: li.dataset.ok === "true", detail: li.querySelector(".detail").textContent })),
      );
      out.margin = await page.$$eval("#summary dd", (dds) => Object.fromEntries(dds.map((d) => [d.dataset.field, d.textContent])));
      out.marginShown = await page.isVisible("#margin");
      out.assets = await page.$$eval("#assets tbody tr", (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
      out.liquidation = await page.$$eval("#liq tbody tr", (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
      out.privacy = await page.textContent("#privacy");
      out.scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    }
    if (sc.screenshot) await page.screenshot({ path: sc.screenshot, fullPage: true });
    results.push(out);
    await context.close();
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(results));
