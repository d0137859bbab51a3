/**
 * The resources the server serves: the built-in kinds, and those of the CustomResourceDefinitions stored (each CRD
 * adds one ResourceType per served version when created and takes them away when deleted).
 */
import type { ResourceType } from './types.js';

export class Registry {
  private readonly byCrd = new Map<string, ResourceType[]>();
  private cache: ResourceType[] | undefined;

  constructor(private readonly builtins: ResourceType[]) {}

  /** Every served resource type (one per group, version and plural). */
  all(): ResourceType[] {
    this.cache ??= [...this.builtins, ...[...this.byCrd.values()].flat()];
    return this.cache;
  }

  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.all().find((t) => t.group === group && t.version === version && t.plural === plural);
  }

  /** Any served version of group/plural: whether objects of that resource are served at all. */
  anyVersion(group: string, plural: string): ResourceType | undefined {
    return this.all().find((t) => t.group === group && t.plural === plural);
  }

  /** The types a CRD (by name) serves; replaces what it served before. */
  setCrd(name: string, types: ResourceType[]): void {
    this.byCrd.set(name, types);
    this.cache = undefined;
  }

  removeCrd(name: string): void {
    this.byCrd.delete(name);
    this.cache = undefined;
  }

  /** The types served by everything except the named CRD: what its names must not collide with. */
  othersThan(crdName: string): ResourceType[] {
    return [...this.builtins, ...[...this.byCrd.entries()].filter(([n]) => n !== crdName).flatMap(([, t]) => t)];
  }
}
