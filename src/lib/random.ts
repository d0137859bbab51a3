/**
 * mulberry32: a tiny seeded PRNG (period 2^32) giving numbers in [0, 1). Enough to make "30% of calls fail" the same
 * calls on every run, or a fake clock's jitter the same on every simulation; not for anything secret.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
