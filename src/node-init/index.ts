/**
 * `podnet init`: the node's host setup that upstream runs as its init container (aws-vpc-cni-init) before aws-node —
 * the CNI files (src/cni), rp_filter and tcp_early_demux (src/dataplane), the primary interface found by IMDS's
 * `mac` (src/ipamd's IMDS rule and client) — as one sequence that is checked before it writes and undone if it fails.
 *
 * A module of its own because the sequence needs all three and none of them may host it without a cycle: cni
 * imports dataplane, ipamd imports both, and nothing imports this module but the CLI. dataplane with the install
 * and the IMDS lookup passed in as functions would have worked too, but would have put the order of the steps and
 * their undo back into the CLI, which only wires options and prints.
 */
export { initNode, type InitNodeOptions, type InitNodeResult, type PrimaryInterface } from './init.js';
