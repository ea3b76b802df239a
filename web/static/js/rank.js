// Provisional rank keys for optimistic placement. The server computes the
// real key (package rank: base-62 fractions "0-9A-Za-z", no trailing '0',
// compared byte by byte); the page only needs a key that sorts between two
// neighbours until the server's event replaces it.

const DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

// between returns a key strictly between a and b; a "" or null is the
// bottom (0), b "" or null the top (1).
export function between(a, b) {
  a = a || "";
  b = b || null;
  if (b !== null && a >= b) return a + "V"; // neighbours out of order: just after a
  return midpoint(a, b);
}

function midpoint(a, b) {
  if (b !== null) {
    let n = 0;
    while ((a[n] || "0") === b[n]) n++;
    if (n > 0) return b.slice(0, n) + midpoint(a.slice(n), b.slice(n));
  }
  const da = a ? DIGITS.indexOf(a[0]) : 0;
  const db = b !== null ? DIGITS.indexOf(b[0]) : DIGITS.length;
  if (db - da > 1) return DIGITS[Math.round((da + db) / 2)];
  if (b !== null && b.length > 1) return b.slice(0, 1);
  return DIGITS[da] + midpoint(a.slice(1), null);
}

// compareRank orders by rank then id, as the server does (COLLATE "C").
export function compareRank(x, y) {
  if (x.rank !== y.rank) return x.rank < y.rank ? -1 : 1;
  if (x.id !== y.id) return x.id < y.id ? -1 : 1;
  return 0;
}

// Sorted insertion helpers over arrays of {id, rank}, kept in compareRank order.
export function searchIndex(arr, item) {
  let lo = 0, hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareRank(arr[mid], item) < 0) lo = mid + 1; else hi = mid;
  }
  return lo;
}

export function indexOfId(arr, id, rank) {
  if (rank !== undefined) {
    const i = searchIndex(arr, { id, rank });
    if (arr[i] && arr[i].id === id) return i;
  }
  return arr.findIndex((x) => x.id === id);
}
