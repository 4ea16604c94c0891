// Amounts for people, as the CLI shows them (engine/money.py): x 10^-6 rounded down to the
// cent, thousands separators, the currency named: "-27,500.00 USD".

export const QUOTE_CURRENCY = "USD";

export function moneyAmount(x) {
  let cents = x / 10_000n;
  if (x % 10_000n !== 0n && x < 0n) cents -= 1n; // floor, toward minus infinity
  const negative = cents < 0n;
  const magnitude = negative ? -cents : cents;
  const whole = (magnitude / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const frac = (magnitude % 100n).toString().padStart(2, "0");
  return `${negative ? "-" : ""}${whole}.${frac}`;
}

export function money(x, currency = QUOTE_CURRENCY) {
  return `${moneyAmount(x)} ${currency}`;
}
