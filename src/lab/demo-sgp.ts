/**
 * `podnet demo --sgp`: security groups for pods (issue 18) with packets, over examples/lab-sgp.yaml — the
 * strict/standard × same-node/other-node/off-VPC × EXTERNALSNAT matrix, scope Pod vs Node, and a strict branch pod in a
 * public subnet. As in demo.ts, nothing of what should happen is written here: each check's expectation is
 * `podnet explain`'s answer over the running lab (branch pods rendered by the same branch datapath ipamd runs), and a
 * probe confirms it, with the fabric's drop counter for a drop at a security group.
 */
import { runDemoCase, runScenarioDemo, type DemoCase, type DemoOptions, type DemoRow } from './demo.js';
import type { Progress } from './lab.js';

/** The SGP scenario, shipped as examples/lab-sgp.yaml next to src/ and dist/ (as the default scenario). */
export const sgpScenarioPath = new URL('../../examples/lab-sgp.yaml', import.meta.url).pathname;

/** One cell of the matrix: a row (mode and EXTERNALSNAT, i.e. a node of the scenario), a column (where to), one probe. */
const cell = (row: string, column: string, from: string, to: string): DemoCase => ({ title: `SGP ${row}: ${column}`, checks: [{ from, to }] });

/**
 * The matrix, row by row. Each node of lab-sgp.yaml is one row: its branch pod (pod-sg: in from the VPC, out to the
 * VPC only) probes the plain pod of its own node (whose node group admits only nodes), the plain pod on `other` (whose
 * group accept-pods admits pod-sg), and the internet host.
 */
export const sgpMatrixCases: DemoCase[] = [
  cell('strict, EXTERNALSNAT=false', 'same node', 'branch-strict-snat', 'plain-strict-snat'),
  cell('strict, EXTERNALSNAT=false', 'other node', 'branch-strict-snat', 'plain-other'),
  cell('strict, EXTERNALSNAT=false', 'off VPC', 'branch-strict-snat', 'inet'),
  cell('strict, EXTERNALSNAT=true', 'same node', 'branch-strict-ext', 'plain-strict-ext'),
  cell('strict, EXTERNALSNAT=true', 'other node', 'branch-strict-ext', 'plain-other'),
  cell('strict, EXTERNALSNAT=true', 'off VPC', 'branch-strict-ext', 'inet'),
  cell('standard, EXTERNALSNAT=false', 'same node', 'branch-std-snat', 'plain-std-snat'),
  cell('standard, EXTERNALSNAT=false', 'other node', 'branch-std-snat', 'plain-other'),
  cell('standard, EXTERNALSNAT=false', 'off VPC', 'branch-std-snat', 'inet'),
  cell('standard, EXTERNALSNAT=true', 'same node', 'branch-std-ext', 'plain-std-ext'),
  cell('standard, EXTERNALSNAT=true', 'other node', 'branch-std-ext', 'plain-other'),
  cell('standard, EXTERNALSNAT=true', 'off VPC', 'branch-std-ext', 'inet'),
];

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

export const sgpDemoCases: DemoCase[] = [...sgpMatrixCases, ...sgpScopeCases, sgpPublicSubnetCase];

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
