/**
 * `podnet demo --sgp`: security groups for pods (issue 18) with packets, over examples/lab-sgp.yaml — the
 * strict/standard × same-node/other-node/off-VPC × EXTERNALSNAT matrix, scope Pod vs Node, and a strict branch pod in a
 * public subnet, and strict's way in to a branch pod from its own node. As in demo.ts, nothing of what should happen is
 * written here: each check's expectation is `podnet explain`'s answer over the running lab (branch pods rendered by
 * the same branch datapath ipamd runs), and a probe confirms it, with the fabric's counter for explain's reason when it
 * is dropped in the VPC.
 */
import { runDemoCase, runScenarioDemo, type DemoCase, type DemoOptions, type DemoRow } from './demo.js';
import type { Progress } from './lab.js';

/** The SGP scenario, shipped as examples/lab-sgp.yaml next to src/ and dist/ (as the default scenario). */
export const sgpScenarioPath = new URL('../../examples/lab-sgp.yaml', import.meta.url).pathname;

/** The matrix's rows: a mode and EXTERNALSNAT, i.e. a node of lab-sgp.yaml, whose branch pod sends every probe of the row. */
const sgpMatrixRows = [
  { row: 'strict, EXTERNALSNAT=false', node: 'strict-snat' },
  { row: 'strict, EXTERNALSNAT=true', node: 'strict-ext' },
  { row: 'standard, EXTERNALSNAT=false', node: 'std-snat' },
  { row: 'standard, EXTERNALSNAT=true', node: 'std-ext' },
];

/**
 * The matrix's columns, where the branch pod (pod-sg: in from the VPC, out to the VPC only) sends: the plain pod of its
 * own node (whose node group admits only nodes), the plain pod on `other` (whose group accept-pods admits pod-sg), the
 * internet host.
 */
const sgpMatrixColumns: Array<{ column: string; to: (node: string) => string }> = [
  { column: 'same node', to: (node) => `plain-${node}` },
  { column: 'other node', to: () => 'plain-other' },
  { column: 'off VPC', to: () => 'inet' },
];

/** The matrix, row by row: one case, one probe per cell. */
export const sgpMatrixCases: DemoCase[] = sgpMatrixRows.flatMap(({ row, node }) =>
  sgpMatrixColumns.map(({ column, to }) => ({ title: `SGP ${row}: ${column}`, checks: [{ from: `branch-${node}`, to: to(node) }] })));

/**
 * Scope Pod vs Node: db's group admits pod-sg's members only, so the branch pod gets in with its own group and the
 * plain pod beside it, which carries its node's, does not — in either mode (standard sends VPC traffic by the branch too).
 */
export const sgpScopeCases: DemoCase[] = [
  { title: 'SGP scope Pod vs Node, strict', checks: [{ from: 'branch-strict-snat', to: 'db' }, { from: 'plain-strict-snat', to: 'db' }] },
  { title: 'SGP scope Pod vs Node, standard', checks: [{ from: 'branch-std-snat', to: 'db' }, { from: 'plain-std-snat', to: 'db' }] },
];

/**
 * A branch ENI has no public IP, so a strict branch pod in a public subnet has no internet (its group pod-open allows
 * all egress); the plain pod beside it is SNATed to the node's address and seen as the node's public IP.
 */
export const sgpPublicSubnetCase: DemoCase = {
  title: 'SGP strict branch pod in a public subnet',
  checks: [{ from: 'branch-pub', to: 'inet' }, { from: 'plain-pub', to: 'inet' }],
};

/**
 * Strict, the other way: the plain pod beside a branch pod, and the node itself (the kubelet's probes), reach it — by
 * the VPC. The node has no route to the branch pod in its main table (strict puts the pod's route in the branch's
 * table only), so the packet leaves by eth0 with the node's group `nodes`, which allows all egress, and comes back in
 * through the branch ENI, whose group pod-sg admits the VPC, and vlan.eth.<id> (`iif vlan.eth.<id> lookup rt prio 10`).
 * The same-node column above is refused by the same trip the other way (nodes admits only its members).
 */
export const sgpStrictSameNodeInCase: DemoCase = {
  title: 'SGP strict, same node, to the branch pod',
  checks: [{ from: 'plain-strict-snat', to: 'branch-strict-snat' }, { from: 'strict-snat', to: 'branch-strict-snat' }],
};

export const sgpDemoCases: DemoCase[] = [...sgpMatrixCases, ...sgpScopeCases, sgpPublicSubnetCase, sgpStrictSameNodeInCase];

/** Every SGP case against a lab of lab-sgp.yaml that is up. None changes the lab. */
export async function runSgpDemoCases(stateDir: string, progress: Progress = () => {}): Promise<DemoRow[]> {
  const rows: DemoRow[] = [];
  for (const c of sgpDemoCases) rows.push(...(await runDemoCase(stateDir, c, progress)));
  return rows;
}

/** `podnet demo --sgp`: brings up lab-sgp.yaml, runs the cases, takes it down unless `keep`. */
export async function runSgpDemo(opts: DemoOptions = {}): Promise<DemoRow[]> {
  return runScenarioDemo(sgpScenarioPath, runSgpDemoCases, opts);
}
