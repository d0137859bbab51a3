/**
 * Member access that treats every key as data: a patch may carry a member named `__proto__`, which plain assignment
 * would turn into a prototype change instead of a field.
 */

export function setOwn(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
}

export function getOwn(o: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}
