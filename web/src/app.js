// The page: collect the files (dropped, chosen or fetched from URLs the user types), run
// the audit (audit.js) and show every check and the margin. Any failure is shown on the
// page; nothing is sent anywhere except the fetches of URLs the user typed.

import { auditOffline, auditOnchain, readFiles } from "./audit.js";
import { gateReader } from "./chain.js";
import { liquidationPrices, spotText } from "./liquidation.js";
import { STATUS_NAMES } from "./margin.js";
import { money } from "./money.js";

const SLOTS = ["account", "market", "params", "proof", "vkey", "accountsTree"];
const REQUIRED = SLOTS.slice(0, 5);
const SCENARIO_NAMES = [
  "spot 0, vol up", "spot 0, vol down", "+1/3, vol up", "+1/3, vol down", "-1/3, vol up", "-1/3, vol down",
  "+2/3, vol up", "+2/3, vol down", "-2/3, vol up", "-2/3, vol down", "+1, vol up", "+1, vol down",
  "-1, vol up", "-1, vol down", "+3 (x0.35)", "-3 (x0.35)",
];

const texts = {};
const $ = (id) => document.getElementById(id);
let profiles = null;
let gateAbi = null;

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
}

window.addEventListener("error", (e) => showError(`unexpected error: ${e.message}`));
window.addEventListener("unhandledrejection", (e) => showError(`unexpected error: ${e.reason?.message ?? e.reason}`));

/** Which file a JSON text is, from its format tag (the key has none: it is snarkjs's). */
function slotOf(text) {
  try {
    const doc = JSON.parse(text);
    const tags = {
      "zkmargin/account@1": "account",
      "zkmargin/market@1": "market",
      "zkmargin/params@2": "params",
      "zkmargin/params@1": "params", // read, then refused with the reason (files.js)
      "zkmargin/proof@1": "proof",
      "zkmargin/batch-proof@1": "proof",
      "zkmargin/accounts-tree@1": "accountsTree",
    };
    if (doc && doc.protocol === "groth16" && doc.vk_alpha_1) return "vkey";
    return tags[doc?.format] ?? null;
  } catch {
    return null;
  }
}

function setText(slot, text, from) {
  texts[slot] = text;
  const state = $(`state-${slot}`);
  state.textContent = `loaded (${from})`;
  state.classList.add("loaded");
}

async function readDropped(fileList) {
  const unknown = [];
  for (const file of fileList) {
    const text = await file.text();
    const slot = slotOf(text);
    if (slot) setText(slot, text, file.name);
    else unknown.push(file.name);
  }
  if (unknown.length) showError(`not a zkmargin file (no known format tag): ${unknown.join(", ")}`);
}

async function fetchText(url, slot) {
  let response;
  try {
    response = await fetch(url, { credentials: "omit", cache: "no-store" });
  } catch (err) {
    throw new Error(`${slot}: cannot fetch ${url} (${err.message})`);
  }
  if (!response.ok) throw new Error(`${slot}: ${url} answered ${response.status} ${response.statusText}`);
  return response.text();
}

function renderChecks(checks) {
  const list = $("checks");
  list.replaceChildren();
  for (const c of checks) {
    const li = document.createElement("li");
    li.dataset.check = c.name;
    li.dataset.ok = String(c.ok);
    const mark = document.createElement("span");
    mark.className = "mark";
    mark.textContent = c.ok ? "\u2714" : "\u2718";
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = c.name;
    const detail = document.createElement("span");
    detail.className = "detail";
    detail.textContent = c.detail;
    li.append(mark, name, detail);
    list.append(li);
  }
  const failed = checks.filter((c) => !c.ok);
  const verdict = $("verdict");
  verdict.className = failed.length ? "fail" : "pass";
  verdict.textContent = failed.length
    ? `audit failed: ${failed.map((c) => c.name).join(", ")}`
    : `audit passed: all ${checks.length} checks`;
  $("result").hidden = false;
}

function cells(tr, texts) {
  for (const text of texts) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.append(td);
  }
  return tr;
}

/** The same cells, each labelled with its column's heading (the phone layout shows it). */
function labelled(tr, table, texts) {
  cells(tr, texts);
  const heads = [...table.tHead.rows[0].cells].map((th) => th.textContent);
  [...tr.cells].forEach((td, i) => {
    td.dataset.label = heads[i];
  });
  return tr;
}

/**
 * The directional part as its size and its sign in words (long: S > 0, lost when the spot
 * falls; short: S < 0), so its size reads against the worst loss it is a part of.
 */
function directionText(s) {
  if (s === 0n) return money(0n);
  return s > 0n ? `${money(s)} long` : `${money(-s)} short`;
}

/** A cell over `span` columns that says why there is no figure. */
function why(tr, span, text) {
  const td = document.createElement("td");
  td.colSpan = span;
  td.className = "why";
  td.textContent = text;
  tr.append(td);
  return tr;
}

/** The liquidation prices of the held assets; a reason in the row where there is none. */
function renderLiquidation(files) {
  const body = $("liq").tBodies[0];
  body.replaceChildren();
  let prices;
  try {
    prices = liquidationPrices(files.market, files.params, files.account);
  } catch (err) {
    body.append(why(document.createElement("tr"), 4, `no liquidation prices: ${err.message}`));
    return;
  }
  for (const p of prices.filter((x) => x.held)) {
    const tr = document.createElement("tr");
    tr.dataset.asset = p.name;
    if (p.error) {
      why(cells(tr, [p.name, spotText(p.spot)]), 2, `not computed: ${p.error}`);
    } else {
      cells(tr, [p.name, spotText(p.spot), p.already ? "now" : spotText(p.below), p.already ? "now" : spotText(p.above)]);
    }
    body.append(tr);
  }
}

function renderMargin(margin, files) {
  const box = $("margin");
  if (!margin) {
    box.hidden = true;
    return;
  }
  const { market, account } = files;
  const status = STATUS_NAMES[margin.status];
  const total = (xs) => xs.reduce((a, b) => a + b, 0n);
  const worst = total(margin.W);
  // [term, value, a part of the row above]
  const rows = [
    ["account", `${account.accountId}${account.label ? ` (${account.label})` : ""}`],
    ["status", status],
    ["equity", money(margin.E)],
    ["initial margin (IM)", money(margin.IM)],
    ["maintenance margin (MM)", money(margin.MM)],
    ["shortfall", money(margin.shortfall)],
    ["scenario risk R", money(margin.R)],
    ["directional, correlated", money(margin.Rdir), true],
    ["non-directional", money(total(margin.U)), true],
    ["sum of worst losses", money(worst)],
    ["credit for offsets", money(worst - margin.R)],
    ["liquidity add-on", money(total(margin.LQ))],
    ["static charges", money(margin.SC)],
  ];
  const dl = $("summary");
  dl.replaceChildren();
  for (const [term, value, part] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    dd.dataset.field = term;
    if (part) dt.className = dd.className = "part";
    if (term === "status") dd.className = `status-${status}`;
    dl.append(dt, dd);
  }
  const table = $("assets");
  const body = table.tBodies[0];
  body.replaceChildren();
  market.assets.forEach((asset, a) => {
    if (asset.name === null) return;
    const held = margin.W[a] !== 0n || margin.LQ[a] !== 0n;
    const texts = [
      asset.name,
      money(margin.W[a]),
      directionText(margin.S[a]),
      money(margin.U[a]),
      held ? SCENARIO_NAMES[margin.worstScenario[a]] : "-",
      money(margin.LQ[a]),
    ];
    const tr = labelled(document.createElement("tr"), table, texts);
    tr.dataset.asset = asset.name;
    body.append(tr);
  });
  renderLiquidation(files);
  box.hidden = false;
}

async function run() {
  const button = $("run");
  button.disabled = true;
  $("error").hidden = true;
  $("result").hidden = true;
  try {
    for (const slot of SLOTS) {
      const url = $(`url-${slot}`).value.trim();
      if (url) setText(slot, await fetchText(url, slot), "URL");
    }
    const missing = REQUIRED.filter((s) => !texts[s]);
    if (missing.length) {
      renderChecks([{ name: "files", ok: false, detail: `missing: ${missing.join(", ")} (drop or choose them above)` }]);
      renderMargin(null);
      return;
    }
    const read = readFiles(texts, profiles);
    if (!read.ok) {
      renderChecks([read.check]);
      renderMargin(null);
      return;
    }
    const { files } = read;
    const verify = (vkey, signals, proof) => globalThis.snarkjs.groth16.verify(vkey, signals, proof);
    const { checks, margin } = await auditOffline(files, verify);
    const rpc = $("rpc").value.trim();
    if (rpc) {
      try {
        const gate = await gateReader(rpc, $("gate").value, gateAbi);
        try {
          checks.push(...(await auditOnchain(gate, files.account, files.bundle)));
        } finally {
          gate.close();
        }
      } catch (err) {
        checks.push({ name: "on chain", ok: false, detail: err.message });
      }
    }
    renderChecks(checks);
    renderMargin(margin, files);
  } catch (err) {
    showError(err.message);
  } finally {
    button.disabled = false;
  }
}

async function start() {
  const [p, abi] = await Promise.all(["profiles.json", "gate-abi.json"].map((f) => fetch(f).then((r) => r.json())));
  profiles = p;
  gateAbi = abi;
  for (const slot of SLOTS) {
    $(`file-${slot}`).addEventListener("change", async (e) => {
      const file = e.target.files[0];
      if (file) setText(slot, await file.text(), file.name);
    });
  }
  const zone = $("dropzone");
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    readDropped(e.dataTransfer.files);
  });
  $("run").addEventListener("click", run);
  document.body.dataset.ready = "true";
}

start().catch((err) => showError(`the page could not start: ${err.message}`));
