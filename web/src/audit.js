// The audit itself, with no DOM: the same checks, in the same order and with the same
// names, as the CLI's `zkmargin audit` (zkmargin/audit.py). Every check is independent and
// says what it compared; a file that cannot be read becomes one failed check naming the
// field, never an exception out of here.

import { accountLeaf, commitment, marketHashes, paramsHash, pathRoot, sparseRoot } from "./hashes.js";
import { loadAccount, loadAccountsTree, loadBundle, loadMarket, loadParams, parseJson, plain } from "./files.js";
import { computeMargin, STATUS_NAMES } from "./margin.js";
import { money } from "./money.js";
import { vkeySha256 } from "./vkey.js";

export const SHORTFALL_CAP = (1n << 60n) - 1n;

const check = (name, ok, detail) => ({ name, ok, detail });

function short(x) {
  const text = x.toString();
  return text.length <= 16 ? text : `${text.slice(0, 8)}...${text.slice(-6)}`;
}

function same(name, mine, theirs, what) {
  return mine === theirs
    ? check(name, true, `${what} matches (${short(mine)})`)
    : check(name, false, `${what} differs: yours ${short(mine)}, the proof's ${short(theirs)}`);
}

const statusName = (s) => STATUS_NAMES[s] ?? "unknown";

/**
 * Read the files (texts) the user gave: { account, market, params, proof, vkey, accountsTree? }.
 * Returns { ok: true, files } or { ok: false, check } naming the file and field at fault.
 */
export function readFiles(texts, profiles) {
  let step = "market";
  try {
    const market = loadMarket(parseJson(texts.market, "market"), profiles);
    step = "params";
    const params = loadParams(parseJson(texts.params, "params"), market);
    step = "account";
    const account = loadAccount(parseJson(texts.account, "account"), market.profile);
    step = "proof";
    const bundle = loadBundle(parseJson(texts.proof, "proof"), profiles);
    step = "verification key";
    const vkey = plain(parseJson(texts.vkey, "verification key"));
    if (!vkey || vkey.protocol !== "groth16") throw new Error("verification key: not a groth16 verification key");
    let accountsTree = null;
    if (texts.accountsTree) {
      step = "accounts tree";
      accountsTree = loadAccountsTree(parseJson(texts.accountsTree, "accounts tree"));
    }
    return { ok: true, files: { market, params, account, bundle, vkey, accountsTree } };
  } catch (err) {
    return { ok: false, check: check(`${step} file`, false, err.message) };
  }
}

/**
 * The offline checks. `verifyProof(vkey, publicSignals, proof)` is snarkjs's groth16.verify.
 * Returns { checks, margin } (margin null when the account cannot be valued in the market).
 */
export async function auditOffline(files, verifyProof) {
  const { market, params, account, bundle, vkey } = files;
  const checks = [];
  const keyHash = await vkeySha256(vkey);
  checks.push(
    keyHash === bundle.vkeySha256
      ? check("verification key", true, `sha256 ${keyHash.slice(0, 16)}... as the bundle names`)
      : check("verification key", false, `the key's sha256 ${keyHash.slice(0, 16)}... is not the bundle's ${bundle.vkeySha256.slice(0, 16)}...`),
  );
  const fieldsOk = bundle.profile === market.profile.name && bundle.marketEpoch === market.epoch;
  checks.push(
    check(
      "bundle fields",
      fieldsOk,
      `profile '${bundle.profile}', epoch ${bundle.marketEpoch}` +
        (fieldsOk ? "" : `; the market is profile '${market.profile.name}', epoch ${market.epoch}`),
    ),
  );
  const mine = commitment(account);
  let entry = null;
  if (bundle.batch) {
    entry = bundle.entries.find((e) => e.accountId === account.accountId) ?? null;
    const named = bundle.entries.map((e) => e.accountId).join(", ");
    checks.push(
      check(
        "entry",
        entry !== null,
        `the batch ${entry ? "names" : "does not name"} account ${account.accountId} (entries: ${named})`,
      ),
    );
    const path = bundle.paths.get(account.accountId);
    if (!path) {
      checks.push(check("accounts tree", false, `the bundle has no path for account ${account.accountId}`));
    } else {
      const root = pathRoot(accountLeaf(account.accountId, mine), path.position, path.siblings);
      checks.push(same("accounts tree", root, bundle.accountsRoot, `accounts root from your leaf at ${path.position}`));
    }
  } else {
    checks.push(same("commitment", mine, bundle.commitment, "account commitment"));
  }
  const hashes = marketHashes(market);
  const marketCheck = same("market root", hashes.marketRoot, bundle.marketRoot, `market root (epoch ${market.epoch})`);
  if (hashes.marketRoot !== market.stated.marketRoot) {
    marketCheck.ok = false;
    marketCheck.detail += "; the market file's own market_root is not its tables' (an edited file)";
  }
  checks.push(marketCheck);
  checks.push(same("params hash", paramsHash(params), bundle.paramsHash, "risk-parameters hash"));
  let margin = null;
  try {
    margin = computeMargin(market, params, account);
  } catch (err) {
    checks.push(check("margin", false, err.message));
  }
  if (margin) {
    const proven = bundle.batch
      ? entry
        ? { status: entry.status, shortfall: entry.shortfall }
        : null
      : { status: Number(bundle.status), shortfall: bundle.shortfall };
    const expected = bundle.batch && margin.shortfall > SHORTFALL_CAP ? SHORTFALL_CAP : margin.shortfall;
    const ok = proven !== null && proven.status === margin.status && proven.shortfall === expected;
    checks.push(
      check(
        "margin",
        ok,
        `page: ${statusName(margin.status)}, shortfall ${money(margin.shortfall)}; proof: ` +
          (proven ? `status ${proven.status}, shortfall ${money(proven.shortfall)}` : "no entry"),
      ),
    );
  }
  let verified = false;
  let reason = "";
  try {
    verified = await verifyProof(vkey, bundle.publicSignals.map(String), bundle.proof);
    reason = verified ? "the pairing check holds" : "the pairing check fails for these public signals and key";
  } catch (err) {
    reason = `could not be checked (${err.message})`;
  }
  checks.push(check("proof", verified, `Groth16${bundle.batch ? " batch proof" : ""} (snarkjs in the page): ${reason}`));
  if (bundle.batch && files.accountsTree) checks.push(publishedCheck(files.accountsTree, bundle));
  return { checks, margin };
}

function publishedCheck(tree, bundle) {
  const leaves = new Map(tree.leaves.map(([id, c], i) => [BigInt(i), accountLeaf(id, c)]));
  const root = sparseRoot(leaves, tree.depth);
  if (root !== bundle.accountsRoot) {
    return check("published tree", false, `the published tree's root ${short(root)} is not the batch's ${short(bundle.accountsRoot)}`);
  }
  return check("published tree", true, `${tree.leaves.length} accounts, each id once; the root matches`);
}

/**
 * The on-chain checks of a batch proof, from a reader of the gate (chain.js):
 * { accountsRoot(), accountsPosted(), latestMarket(), marketsPosted(), paramsHash(), statusOf(id) }.
 */
export async function auditOnchain(gate, account, bundle) {
  if (!bundle.batch) {
    return [check("on chain", false, "a one-account bundle (proof@1) is an offline statement: the gate takes batch proofs only")];
  }
  const checks = [];
  const [accounts, postedAccounts] = [await gate.accountsRoot(), await gate.accountsPosted()];
  checks.push(posted("accounts posted", "accounts root", bundle.accountsRoot, accounts, postedAccounts, "operator"));
  const latest = await gate.latestMarket();
  const marketCheck = posted("market posted", "market root", bundle.marketRoot, [latest.root, latest.epoch], await gate.marketsPosted(), "oracle");
  if (marketCheck.ok && bundle.marketRoot === latest.root && !latest.fresh) {
    marketCheck.detail += ", stale: older than the gate's maximum age";
  }
  checks.push(marketCheck);
  checks.push(same("on-chain params", await gate.paramsHash(), bundle.paramsHash, "gate params hash"));
  const entry = bundle.entries.find((e) => e.accountId === account.accountId);
  const record = await gate.statusOf(account.accountId);
  if (!entry || record.provenAt === 0n) {
    checks.push(check("on-chain record", Boolean(entry), "the gate has no record of the account yet"));
  } else {
    const ok = record.status === entry.status && record.shortfall === entry.shortfall;
    checks.push(
      check(
        "on-chain record",
        ok,
        `gate: status ${record.status}, shortfall ${money(record.shortfall)}` +
          (ok ? "" : `; the entry: status ${entry.status}, shortfall ${money(entry.shortfall)}`) +
          (record.liquidationOpen ? ", case open" : ""),
      ),
    );
  }
  return checks;
}

function posted(name, noun, root, [latestRoot, latestEpoch], all, who) {
  if (root === latestRoot) return check(name, true, `the latest ${noun} (epoch ${latestEpoch})`);
  if (all.has(root)) {
    return check(name, true, `posted at epoch ${all.get(root)}, but not the latest (epoch ${latestEpoch}): the gate would not accept this proof now`);
  }
  return check(name, false, `the ${who} never posted the proof's ${noun}`);
}
