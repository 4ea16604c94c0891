#!/usr/bin/env node
// Batch witness calculation: load a circom-generated witness_calculator.js and
// its .wasm once, then compute one witness per JSON request read from stdin.
//
// usage: node witness_calc.js <witness_calculator.js> <circuit.wasm> <n_public>
//
// Each stdin line is a request
//   {"id": any, "input": {...}, "signals": [wire indices] | null,
//    "full": bool, "wtns": "path/to/out.wtns" | null}
// and gets exactly one stdout line back
//   {"id": ..., "ok": true, "public": ["..."], "signals": ["..."], "witness": ["..."]}
// or {"id": ..., "ok": false, "error": "..."} when witness generation fails
// (a failed `===` in the circuit, a bad input name, ...).
// "public" holds wires 1..n_public (outputs, then public inputs); "signals" the
// requested wires; "witness" the whole witness when "full" is true; "wtns"
// additionally writes the binary .wtns file. All values are decimal strings.
"use strict";

const fs = require("fs");
const path = require("path");
const readline = require("readline");

// The generated calculator prints circuit log() output with console.log; keep
// stdout for the protocol.
console.log = (...args) => process.stderr.write(args.join(" ") + "\n");

async function main() {
    const [calcPath, wasmPath, nPublicText] = process.argv.slice(2);
    if (!calcPath || !wasmPath || nPublicText === undefined) {
        process.stderr.write("usage: witness_calc.js <witness_calculator.js> <circuit.wasm> <n_public>\n");
        process.exit(2);
    }
    const nPublic = parseInt(nPublicText, 10);
    const builder = require(path.resolve(calcPath));
    const calculator = await builder(fs.readFileSync(wasmPath));

    const send = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
    const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
    for await (const line of rl) {
        if (!line.trim()) continue;
        let request;
        try {
            request = JSON.parse(line);
        } catch (err) {
            send({ id: null, ok: false, error: "bad request: " + err.message });
            continue;
        }
        try {
            const w = await calculator.calculateWitness(request.input, true);
            const reply = { id: request.id, ok: true };
            reply.public = [];
            for (let i = 1; i <= nPublic; i++) reply.public.push(w[i].toString());
            if (Array.isArray(request.signals)) {
                reply.signals = request.signals.map((i) => w[i].toString());
            }
            if (request.full) reply.witness = w.map((x) => x.toString());
            if (request.wtns) {
                const bin = await calculator.calculateWTNSBin(request.input, true);
                fs.writeFileSync(request.wtns, Buffer.from(bin));
            }
            send(reply);
        } catch (err) {
            send({ id: request.id, ok: false, error: String(err && err.message ? err.message : err) });
        }
    }
}

main().catch((err) => {
    process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
    process.exit(1);
});
