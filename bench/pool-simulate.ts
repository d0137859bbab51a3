/**
 * The ipam core at fleet scale, in process: N simulated nodes (default 100 m5.large) with pods arriving and leaving
 * over one simulated hour, each node with its own datastore, executor, pool manager and fake clock, all on ONE
 * shared in-process EC2 state (one VPC, one /16 subnet, N instances), the way the nodes of one cluster share a VPC.
 * Every pool interval (5 s) each node runs one pool iteration; every 30 s each node gains or loses a pod (a seeded
 * random walk between 0 and max pods). Then `pool simulate` itself, warm, over the in-process Cloud and over the
 * SDK adapter against the emulator's HTTP endpoint (how simulation ran before). Prints numbers; asserts nothing.
 *
 *   npm run bench:simulate -- [--nodes N] [--minutes M]
 */
import { loadConfig } from '../src/config/index.js';
import { inProcessCloud, launchSimulatedInstance, openEc2State, simulatedNetwork, startEc2Server, startSimulatedNode } from '../src/ec2/index.js';
import {
  CloudCallCounter,
  FakeClock,
  poolConfigFrom,
  poolLimitsFrom,
  simulatePool,
  startPoolNode,
  type StartSimulatedCloud,
} from '../src/ipam/index.js';
import { createEc2Client, sdkCloud } from '../src/ipamd/index.js';
import { lookupInstanceType, maxPods } from '../src/limits/index.js';
import { numberFlag } from './stats.js';

// the SDK's notice that Node 20 support ends, on every client, would bury the figures (the CLI turns it off the same way)
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const nodes = numberFlag('nodes', 100, { whole: true });
const minutes = numberFlag('minutes', 60);
const INSTANCE_TYPE = 'm5.large';
const START_MS = Date.UTC(2025, 0, 1);
const POD_EVERY_MS = 30_000;

// ---- the fleet ----

const config = poolConfigFrom(loadConfig({ ENABLE_IPv4: 'true' }).config);
const podLimit = maxPods(INSTANCE_TYPE).maxPods;
const limits = poolLimitsFrom(lookupInstanceType(INSTANCE_TYPE), config, { maxPods: podLimit });
let fleetNow = START_MS;
const state = openEc2State({ now: () => fleetNow });
const calls = new CloudCallCounter();
const cloud = inProcessCloud(state, { metrics: calls });
const network = simulatedNetwork(state);

const setupStarted = performance.now();
const fleet = await Promise.all(Array.from({ length: nodes }, async (_, index) => {
  const { instanceId, primaryEniId } = launchSimulatedInstance(network, INSTANCE_TYPE);
  const clock = new FakeClock(START_MS, { seed: index + 1 });
  const { datastore, manager } = await startPoolNode({ cloud, clock, config, limits, instanceId, primaryEniId, subnetCidr: network.subnetCidr });
  return { clock, datastore, manager, pods: [] as string[], nextPod: 0 };
}));
const setupMs = performance.now() - setupStarted;

let iterations = 0;
let placed = 0;
let refused = 0;
let released = 0;
let failedActions = 0;
const endMs = START_MS + minutes * 60_000;
const runStarted = performance.now();
for (let t = START_MS; t < endMs; t += config.timers.poolIntervalMs) {
  fleetNow = t;
  const podTurn = (t - START_MS) % POD_EVERY_MS === 0;
  for (const node of fleet) {
    node.clock.advanceTo(t);
    if (podTurn) {
      const arrive = node.pods.length === 0 || (node.pods.length < podLimit && node.clock.random() < 0.55);
      if (arrive) {
        const key = { networkName: 'aws-cni', containerId: `pod-${node.nextPod++}`, ifName: 'eth0' };
        if (node.datastore.assign(key, {}, node.clock.now())) {
          node.pods.push(key.containerId);
          placed++;
        } else {
          refused++;
        }
      } else {
        const containerId = node.pods.splice(Math.floor(node.clock.random() * node.pods.length), 1)[0]!;
        node.datastore.unassign({ networkName: 'aws-cni', containerId, ifName: 'eth0' }, node.clock.now());
        released++;
      }
    }
    const r = await node.manager.runIteration();
    iterations++;
    failedActions += r.outcomes.filter((o) => o.error).length;
  }
}
const runMs = performance.now() - runStarted;
state.close();

const enis = fleet.reduce((n, f) => n + f.datastore.eniInfos().length, 0);
const podsNow = fleet.reduce((n, f) => n + f.pods.length, 0);
console.log(`fleet: ${nodes} × ${INSTANCE_TYPE} (max pods ${podLimit}, default pool settings), ${minutes} simulated minutes, one shared in-process EC2 state`);
console.log(`  setup (launch + discovery): ${setupMs.toFixed(0)} ms`);
console.log(`  pool loop: ${runMs.toFixed(0)} ms wall, ${(runMs / nodes).toFixed(1)} ms per node, ${iterations} iterations (${(runMs * 1000 / iterations).toFixed(0)} µs each)`);
console.log(`  pods: ${placed} placed, ${released} released, ${refused} refused (pool not grown yet), ${podsNow} running at the end; ${enis} ENIs; ${failedActions} failed actions`);
console.log(`  EC2 calls: ${calls.total()} (${[...calls.byApi()].sort(([a], [b]) => a.localeCompare(b)).map(([api, n]) => `${api} ${n}`).join(', ')})`);

// ---- pool simulate: in-process vs SDK over HTTP ----

/** The simulation's cloud as it was before the in-process adapter: the emulator on loopback, the SDK adapter. */
const overHttp: StartSimulatedCloud = async ({ instanceType, nowMs, metrics }) => {
  const emulator = await startEc2Server({ listen: { host: '127.0.0.1', port: 0 }, imdsListen: { host: '127.0.0.1', port: 0 }, throttle: false, nowMs });
  const net = simulatedNetwork(emulator.state);
  const instance = launchSimulatedInstance(net, instanceType);
  const ec2 = createEc2Client({
    endpoints: { ec2Endpoint: emulator.ec2Url, imdsEndpoint: emulator.imdsUrl, region: 'us-west-2', onAws: false },
    region: 'us-west-2', metrics, env: { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' }, retry: { throttleBaseMs: 0, transientBaseMs: 0 },
  });
  return {
    cloud: sdkCloud(ec2), ...instance, subnetCidr: net.subnetCidr,
    close: async () => {
      ec2.destroy();
      await emulator.close();
    },
  };
};

const cases = [['m5.large', 29], ['c5.4xlarge', 234]] as const;
console.log('pool simulate (warm process, median of 5 runs):');
for (const [name, startCloud] of [['in-process', startSimulatedNode], ['SDK over HTTP', overHttp]] as const) {
  for (const [instanceType, pods] of cases) {
    const times: number[] = [];
    let ec2Calls = 0;
    for (let run = 0; run < 6; run++) {
      const started = performance.now();
      const { result } = await simulatePool({ instanceType, pods, startCloud });
      if (run > 0) times.push(performance.now() - started); // run 0 warms up
      ec2Calls = Object.values(result.ec2Calls).reduce((a, b) => a + b, 0);
    }
    times.sort((a, b) => a - b);
    console.log(`  ${name.padEnd(14)} ${instanceType} ${pods} pods: ${times[2]!.toFixed(1)} ms (${ec2Calls} EC2 calls)`);
  }
}
