// The fixed-point integers of section 2 in BigInt: the scale and the two integer
// operations every formula of the margin uses. No floating point anywhere.

export const SCALE = 1_000_000n;

/** floor(n / d) for d > 0, rounding toward minus infinity. */
export function fdiv(n, d) {
  if (d <= 0n) throw new RangeError("fdiv needs a positive divisor");
  const q = n / d;
  return n % d !== 0n && n < 0n ? q - 1n : q;
}

/** floor(sqrt(n)) for n >= 0 (Newton's method on integers). */
export function isqrt(n) {
  if (n < 0n) throw new RangeError("isqrt of a negative number");
  if (n < 2n) return n;
  let x = 1n << BigInt((n.toString(2).length + 1) >> 1);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}
