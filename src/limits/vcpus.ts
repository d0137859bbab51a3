import { loadDataTable } from './data.js';

let table: ReadonlyMap<string, number> | undefined;

function isVcpuCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1;
}

/**
 * The default vCPU count of an instance type from data/instance-vcpus.json, or undefined when the source dataset
 * does not list the type. Never derived from the size name: a missing type stays unknown.
 */
export function vcpuCount(instanceType: string): number | undefined {
  table ??= loadDataTable('instance-vcpus.json', isVcpuCount);
  return table.get(instanceType);
}
