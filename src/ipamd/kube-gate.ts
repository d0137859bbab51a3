/**
 * AWS_MANAGE_ENIS_NON_SCHEDULABLE (spec §4.7, §4.10): on a node whose Node is unschedulable (cordoned, or tainted
 * node.kubernetes.io/unschedulable:NoSchedule), ipamd attaches no ENI or address and frees no ENI unless the variable
 * is true; releasing addresses (decreaseDatastorePool) goes on. The pool manager decides as always; this executor
 * leaves the held-back actions undone, as upstream's increase() and tryFreeENI() return early.
 */
import { PoolExecutor, type ActionOutcome, type PoolAction } from '../ipam/index.js';

const HELD_BACK: ReadonlySet<PoolAction['kind']> = new Set(['assign-ips', 'assign-prefixes', 'create-eni', 'free-eni']);

export class SchedulableGate extends PoolExecutor {
  constructor(
    options: ConstructorParameters<typeof PoolExecutor>[0],
    private readonly holdBack: () => boolean,
  ) {
    super(options);
  }

  override async perform(action: PoolAction): Promise<ActionOutcome> {
    if (HELD_BACK.has(action.kind) && this.holdBack()) return { action, changed: false };
    return super.perform(action);
  }
}
