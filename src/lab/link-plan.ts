/**
 * Which ENI links the fabric controller deletes, makes and takes over in one pass (pure): from the links it applied
 * (an adopted port — found at start-up, its ENI not yet known — is `null`), the links renderFabric wants, the
 * namespaces that exist and, for an adopted branch port, what its end in the node's namespace is. controller.ts
 * carries the plan out: every removal before any creation, so a link name a removed pair held (`vlan.eth.<id>` of a
 * branch that moved or went) is free when a new pair takes it.
 */
import type { EniLink } from './render.js';

export interface LinkPlanInput {
  /** `<router ns>/<port>` → the link applied, or null for a port adopted at start-up */
  applied: ReadonlyMap<string, EniLink | null>;
  /** `<router ns>/<port>` → the link renderFabric wants */
  wanted: ReadonlyMap<string, EniLink>;
  namespaces: ReadonlySet<string>;
  /**
   * for each adopted port that a branch link wants (key as above): the MAC of the link named `endDev` in `endNs`, or
   * undefined when no link has that name
   */
  adoptedBranchEnds: ReadonlyMap<string, string | undefined>;
}

export interface LinkPlan {
  /** ports to delete (when their router namespace still exists: `deletePort`) and forget, first */
  remove: Array<{ key: string; routerNs: string; port: string; deletePort: boolean; why: string }>;
  /** pairs to make, after the removals */
  create: Array<{ key: string; link: EniLink }>;
  /** adopted ports the mapping names and whose end is as wanted: recorded (and their ends prepared) without a new pair */
  adopt: Array<{ key: string; link: EniLink }>;
  /** wanted links whose namespaces do not exist yet: nothing is done for them this pass */
  waiting: string[];
}

export function planLinks(input: LinkPlanInput): LinkPlan {
  const plan: LinkPlan = { remove: [], create: [], adopt: [], waiting: [] };
  const remove = (key: string, why: string) => {
    const [routerNs, port] = key.split('/') as [string, string];
    plan.remove.push({ key, routerNs, port, deletePort: input.namespaces.has(routerNs), why });
  };
  for (const key of input.applied.keys()) if (!input.wanted.has(key)) remove(key, 'EC2 no longer maps it here');
  for (const [key, link] of input.wanted) {
    const ready = input.namespaces.has(link.endNs) && input.namespaces.has(link.routerNs);
    const known = input.applied.get(key);
    // A link already made with the end wanted is kept as it is, never made again: the node's routes and rules that
    // name its end (ipamd's per-ENI table, the CNI's `vlan.eth.<id>` table and rules) are written once, at ENI
    // setup or CNI ADD, and a new pair would leave a live pod or ENI without them.
    if (known && known.endNs === link.endNs && known.endDev === link.endDev) continue;
    if (known) {
      // the same ENI now ends elsewhere (a branch associated again on another VLAN or trunk): a new pair
      remove(key, `it now ends at ${link.endNs}/${link.endDev}, not ${known.endNs}/${known.endDev}`);
      if (ready) plan.create.push({ key, link });
      else plan.waiting.push(key);
      continue;
    }
    if (!ready) {
      plan.waiting.push(key);
      continue;
    }
    if (known === null && link.branch) {
      // an adopted branch port is taken over only if its end is the link wanted (name and MAC): a port left from a
      // branch on another VLAN, or whose end went, is made anew
      const mac = input.adoptedBranchEnds.get(key);
      if (mac !== undefined && mac.toLowerCase() === link.mac.toLowerCase()) plan.adopt.push({ key, link });
      else {
        remove(key, mac === undefined ? `${link.endNs} has no ${link.endDev}` : `${link.endNs}/${link.endDev} has MAC ${mac}, not ${link.mac}`);
        plan.create.push({ key, link });
      }
      continue;
    }
    if (known === null) plan.adopt.push({ key, link });
    else plan.create.push({ key, link });
  }
  return plan;
}
