// The verification key's identity: sha256 of its canonical JSON, exactly as prover/keys/vkey.py
// writes it (keys sorted, no whitespace, non-ASCII escaped as \uXXXX), so the page names
// the key by the digest every bundle carries.

function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${ascii(JSON.stringify(k))}:${canonical(value[k])}`).join(",")}}`;
  }
  if (typeof value === "number" && !Number.isInteger(value)) {
    throw new Error("a verification key holds integers and strings only");
  }
  return ascii(JSON.stringify(value));
}

const ascii = (text) =>
  text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

export function canonicalJson(value) {
  return canonical(value);
}

export async function sha256Hex(text) {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function vkeySha256(vkey) {
  return sha256Hex(canonicalJson(vkey));
}
