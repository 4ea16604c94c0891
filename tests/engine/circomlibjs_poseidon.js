// Test helper: hashes input vectors with circomlibjs (the JS twin of circomlib's Poseidon).
// stdin: JSON {"impl": "wasm" | "opt" | "reference", "inputs": [["1", "2"], ...]} (decimal strings)
// stdout: JSON array of decimal strings, one hash per input vector.
"use strict";

const circomlibjs = require("circomlibjs");

const BUILDERS = {
    wasm: circomlibjs.buildPoseidon,
    opt: circomlibjs.buildPoseidonOpt,
    reference: circomlibjs.buildPoseidonReference,
};

async function readStdin() {
    const parts = [];
    for await (const part of process.stdin) parts.push(part);
    return Buffer.concat(parts).toString("utf8");
}

async function main() {
    const request = JSON.parse(await readStdin());
    const build = BUILDERS[request.impl || "wasm"];
    if (!build) throw new Error(`unknown impl ${request.impl}`);
    const hash = await build();
    const out = request.inputs.map((xs) => hash.F.toString(hash(xs.map((x) => BigInt(x))), 10));
    process.stdout.write(JSON.stringify(out));
}

main().then(
    () => process.exit(0),
    (err) => {
        process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
        process.exit(1);
    },
);
