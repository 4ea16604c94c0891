// The page's audit (web/src/audit.js) run by node, for the test suite: reads the files
// named on the command line, prints the checks and the margin as JSON.
//   node audit_cli.mjs profiles.json account market params proof vkey [accounts-tree]
import { readFile } from "node:fs/promises";
import * as snarkjs from "snarkjs";
import { auditOffline, readFiles } from "../../web/src/audit.js";

const [profilesPath, ...paths] = process.argv.slice(2);
const names = ["account", "market", "params", "proof", "vkey", "accountsTree"];
const texts = {};
for (const [i, path] of paths.entries()) texts[names[i]] = await readFile(path, "utf8");
const profiles = JSON.parse(await readFile(profilesPath, "utf8"));
const read = readFiles(texts, profiles);
let out;
if (!read.ok) {
  out = { checks: [read.check], margin: null };
} else {
  const { checks, margin } = await auditOffline(read.files, (v, s, p) => snarkjs.groth16.verify(v, s, p));
  out = { checks, margin };
}
process.stdout.write(JSON.stringify(out, (k, v) => (typeof v === "bigint" ? v.toString() : v)));
process.exit(0);
