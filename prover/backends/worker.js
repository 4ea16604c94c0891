// zkmargin prover worker: one long-lived node process that loads snarkjs once and
// serves JSON-lines requests on stdin, one JSON line per reply on stdout.
//
//   usage: node worker.js <node_modules folder>
//   first line out: {"event":"ready","snarkjs":"<version>"}
//   request:  {"id": 1, "op": "ping" | "load" | "witness" | "prove" | "verify" | "shutdown", ...}
//   reply:    {"id": 1, "ok": true, "result": {...}}  or  {"id": 1, "ok": false, "error": "..."}
//
// ops:  load    {wasm, zkey?}                 -> {load_ms}   (compile the wasm, read the zkey: ahead of a first proof)
//       witness {wasm, input, wtns?}          -> {wtns, witness_ms}
//       prove   {wasm, zkey, input, wtns?}    -> {proof, publicSignals, witness_ms, prove_ms}
//       verify  {vkey, publicSignals, proof}  -> {valid, verify_ms}   (vkey: object or file path)
// Requests are served one at a time, in order. Anything else written to stdout
// (circuit log() calls, library logging) is redirected to stderr.
"use strict";

const fs = require("fs");
const path = require("path");
const readline = require("readline");
const { createRequire } = require("module");

const nodeModules = path.resolve(process.argv[2] || path.join(__dirname, "..", "node_modules"));
const load = createRequire(path.join(nodeModules, "noop.js"));

const out = process.stdout.write.bind(process.stdout);
console.log = (...args) => console.error(...args);
console.info = console.log;
console.debug = console.log;

function send(obj) {
  out(JSON.stringify(obj) + "\n");
}

let snarkjs;
let circomRuntime;
let ffUtils;
try {
  snarkjs = load("snarkjs");
  circomRuntime = load("circom_runtime");
  ffUtils = load("ffjavascript").utils;
} catch (err) {
  console.error(`cannot load snarkjs from ${nodeModules}: ${err.message}`);
  process.exit(3);
}

// Caches keyed by path + mtime: compiled witness calculators and zkey bytes.
const calculators = new Map();
const zkeys = new Map();

function stamp(file) {
  const st = fs.statSync(file);
  return `${file}:${st.mtimeMs}:${st.size}`;
}

async function calculator(wasmFile) {
  const key = stamp(wasmFile);
  if (!calculators.has(key)) {
    const wc = await circomRuntime.WitnessCalculatorBuilder(fs.readFileSync(wasmFile));
    calculators.set(key, wc);
  }
  return calculators.get(key);
}

function zkeyFile(zkeyPath) {
  const key = stamp(zkeyPath);
  if (!zkeys.has(key)) {
    zkeys.clear();
    zkeys.set(key, new Uint8Array(fs.readFileSync(zkeyPath)));
  }
  return { type: "mem", data: zkeys.get(key) };
}

async function witness(req) {
  const started = performance.now();
  const wc = await calculator(req.wasm);
  const wtns = await wc.calculateWTNSBin(ffUtils.unstringifyBigInts(req.input), true);
  if (req.wtns) fs.writeFileSync(req.wtns, wtns);
  return { data: wtns, ms: performance.now() - started };
}

const ops = {
  async ping() {
    return { pong: true, snarkjs: snarkjsVersion() };
  },
  async load(req) {
    const started = performance.now();
    await calculator(req.wasm);
    if (req.zkey) zkeyFile(req.zkey);
    return { load_ms: performance.now() - started };
  },
  async witness(req) {
    const w = await witness(req);
    return { wtns: req.wtns || null, witness_ms: w.ms };
  },
  async prove(req) {
    const w = await witness(req);
    const started = performance.now();
    const { proof, publicSignals } = await snarkjs.groth16.prove(zkeyFile(req.zkey), { type: "mem", data: w.data });
    return { proof, publicSignals, witness_ms: w.ms, prove_ms: performance.now() - started };
  },
  async verify(req) {
    const vkey = typeof req.vkey === "string" ? JSON.parse(fs.readFileSync(req.vkey, "utf8")) : req.vkey;
    const started = performance.now();
    const valid = await snarkjs.groth16.verify(vkey, req.publicSignals, req.proof);
    return { valid, verify_ms: performance.now() - started };
  },
};

function snarkjsVersion() {
  try {
    return JSON.parse(fs.readFileSync(path.join(nodeModules, "snarkjs", "package.json"), "utf8")).version;
  } catch (err) {
    return "unknown";
  }
}

async function shutdown(code) {
  try {
    if (globalThis.curve_bn128) await globalThis.curve_bn128.terminate();
  } finally {
    process.exit(code);
  }
}

async function handle(line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch (err) {
    send({ id: null, ok: false, error: `bad request (not JSON): ${err.message}` });
    return;
  }
  if (req.op === "shutdown") {
    send({ id: req.id, ok: true, result: {} });
    await shutdown(0);
    return;
  }
  const op = ops[req.op];
  if (!op) {
    send({ id: req.id, ok: false, error: `unknown op ${JSON.stringify(req.op)}` });
    return;
  }
  try {
    send({ id: req.id, ok: true, result: await op(req) });
  } catch (err) {
    send({ id: req.id, ok: false, error: String((err && err.message) || err) });
  }
}

let chain = Promise.resolve();
const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on("line", (line) => {
  if (line.trim()) chain = chain.then(() => handle(line));
});
rl.on("close", () => {
  chain.then(() => shutdown(0));
});

send({ event: "ready", snarkjs: snarkjsVersion() });
