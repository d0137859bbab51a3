import { PodnetError } from '../lib/index.js';
import { checkPodNetns, isMadeVlanLink, teardownBranchEniPod, teardownPod } from '../dataplane/index.js';
import { type CniAnswer, type CniBackend, type PodTeardown, createCniHandler } from './handler.js';
import { type CniEnv, cniEnvNames } from './request.js';

/*
 * The full TypeScript plugin the launcher runs when ipamd cannot be reached (bin/podnet-cni-plugin.js). It holds
 * no state: ADD, CHECK and GC answer 11 (try again later) with the reason; DEL tears down the pod's own veth when
 * it can tie it to the container, and succeeds (spec §6.3); VERSION works offline; STATUS answers 50.
 */

/**
 * Why ipamd was not reached, in words, from what the launcher observed: no socket file (answer undefined), or what nc
 * printed instead of an HTTP answer (its error message, or nothing when ipamd closed the connection unanswered).
 */
export function unreachableReason(socket: string, answer: string | undefined): string {
  if (answer === undefined) return missingSocket(socket);
  // before the socket test: `timeout: failed to run command 'nc': No such file or directory` is about nc, not the socket
  if (/(nc|timeout): (command )?not found|failed to run command|invalid option/i.test(answer)) {
    return `the launcher cannot reach ipamd on ${socket}: ${answer.trim().split('\n')[0]} (podnet-cni needs timeout and an nc that speaks to unix sockets: install coreutils and netcat-openbsd or nmap-ncat)`;
  }
  if (/No such file/i.test(answer)) return missingSocket(socket);
  if (/refused/i.test(answer)) return `nothing accepts connections on ipamd's socket ${socket} (ipamd stopped or is restarting)`;
  const timedOut = /^podnet-cni: ipamd did not answer within (\d+) s$/.exec(answer.trim());
  if (timedOut) return `ipamd accepted the connection on ${socket} but did not answer within ${timedOut[1]} s (it is stuck or overloaded)`;
  if (answer.trim() === '') return `ipamd closed the connection on ${socket} without an answer (it stopped)`;
  return `the request to ipamd on ${socket} failed: ${answer.trim().split('\n')[0]}`;
}

function missingSocket(socket: string): string {
  return `ipamd's socket ${socket} does not exist (ipamd is not running on this node, or the conflist names another socket)`;
}

/**
 * A backend without ipamd: every address operation fails with IPAMD_UNREACHABLE, which the handler turns into
 * code 11 for ADD/CHECK/GC and into "tear down from prevResult, succeed" for DEL.
 */
function offlineBackend(reason: string): CniBackend {
  const unreachable = async (): Promise<never> => {
    throw new PodnetError('IPAMD_UNREACHABLE', reason, 'start ipamd (`podnet ipamd`) on this node; the runtime retries the pod');
  };
  return {
    allocate: unreachable,
    lookup: unreachable,
    release: unreachable,
    attachments: unreachable,
    wire: unreachable,
    checkWiring: unreachable,
    unwire: teardownWithoutIpamd,
    status: async () => ({ ready: false, reason }),
    checkNetns: checkPodNetns,
  };
}

/**
 * Without ipamd's records: the pod's computed host veth counts as this container's when its peer is in CNI_NETNS or
 * its /32 route is the address prevResult reports; then it goes with its routes and the rules of the addresses it
 * routes. Anything else is left alone.
 */
async function teardownWithoutIpamd(pod: PodTeardown): Promise<void> {
  if (pod.branch) {
    // a branch pod (prevResult's VLAN id): its table, rules and veths; the VLAN link only if podnet made it (kind vlan)
    await teardownBranchEniPod({ vlanId: pod.branch.vlanId, podIp: pod.branch.address, hostVeths: pod.branch.hostVeths, createVlanLink: await isMadeVlanLink(pod.branch.vlanId) });
    return;
  }
  await teardownPod({ hostVeth: pod.hostVethName, recordsKnown: false, ...(pod.netns && { podNetns: pod.netns }), ...(pod.claimedAddress !== undefined && { claimedIp: pod.claimedAddress }) });
}

/** One run of the fallback plugin: what it prints and exits with. */
export async function runFallbackPlugin(env: CniEnv, stdin: string, reason: string, log: (line: string) => void): Promise<CniAnswer> {
  return createCniHandler(offlineBackend(reason), { log })({ env, stdin });
}

/** The process entry of bin/podnet-cni-plugin.js: stdin and CNI_* in, the CNI answer out (logs on stderr). */
export async function runFallbackPluginProcess(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  const env: CniEnv = {};
  for (const name of cniEnvNames) if (process.env[name] !== undefined) env[name] = process.env[name];
  const reason = unreachableReason(process.env.PODNET_LAUNCHER_SOCKET ?? '', process.env.PODNET_LAUNCHER_ANSWER);
  const answer = await runFallbackPlugin(env, Buffer.concat(chunks).toString('utf8'), reason, (line) => process.stderr.write(`podnet-cni: ${line}\n`));
  if (answer.stdout) process.stdout.write(`${answer.stdout}\n`);
  process.exitCode = answer.exitCode;
}
