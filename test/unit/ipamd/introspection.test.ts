import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/config/index.js';
import { Datastore } from '../../../src/ipam/index.js';
import type { HttpEndpoint } from '../../../src/ipamd/http.js';
import { formatListenAddress } from '../../../src/lib/index.js';
import { startIntrospection } from '../../../src/ipamd/introspection.js';
import { httpGet } from './daemon-harness.js';

// introspection /v1/enis in upstream's shape (spec §6.5): GetENIInfos marshalled by Go, with containerID/ifName scrubbed.
const datastore = new Datastore({ prefixDelegation: false, ipCooldownMs: 30_000 });
let now = Date.UTC(2026, 7, 20, 10, 0, 0, 123);
let endpoint: HttpEndpoint;

before(async () => {
  datastore.addEni({ id: 'eni-0abc', deviceNumber: 0, networkCard: 0, primary: true, trunk: false, efa: false, excluded: false, subnetId: 'subnet-0123', subnetCidr: '10.0.96.0/19', primaryIp: '10.0.97.10', createdAt: 0 });
  for (const ip of ['10.0.97.30', '10.0.97.31', '10.0.97.32']) datastore.addCidr('eni-0abc', ip);
  const { config } = loadConfig({});
  endpoint = await startIntrospection({ host: '127.0.0.1', port: 0 }, {
    config, datastores: () => new Map([[0, datastore]]), eniConfigName: () => 'default', nowMs: () => now,
  }, () => undefined);
});
after(() => endpoint.close());

type Enis = Record<string, { TotalIPs: number; AssignedIPs: number; ENIs: Record<string, { AvailableIPv4Cidrs: Record<string, { IPAddresses: Record<string, unknown> }> }> }>;
async function addresses(): Promise<Record<string, unknown>> {
  const enis = JSON.parse((await httpGet(`http://${formatListenAddress(endpoint.address)}/v1/enis`)).text) as Enis;
  return Object.assign({}, ...Object.values(enis['0']!.ENIs['eni-0abc']!.AvailableIPv4Cidrs).map((c) => c.IPAddresses));
}

test('issue 11 item 7: /v1/enis lists an address in cooldown with its unassigned time', async () => {
  datastore.assign({ networkName: 'aws-cni', containerId: '6f1b', ifName: 'eth0' }, { k8sPodNamespace: 'default', k8sPodName: 'nginx', interfacesCount: 1 }, now);
  datastore.assign({ networkName: 'aws-cni', containerId: '7a2c', ifName: 'eth0' }, { k8sPodNamespace: 'default', k8sPodName: 'web' }, now);
  now += 5_000;
  datastore.unassign({ networkName: 'aws-cni', containerId: '6f1b', ifName: 'eth0' }, now);
  now += 1_000;
  assert.deepEqual(await addresses(), {
    // released: upstream zeroes IPAMKey and IPAMMetadata, keeps AssignedTime and sets UnassignedTime
    '10.0.97.30': {
      Address: '10.0.97.30',
      IPAMKey: { networkName: '', containerID: '', ifName: '' },
      IPAMMetadata: {},
      AssignedTime: '2026-08-20T10:00:00.123Z',
      UnassignedTime: '2026-08-20T10:00:05.123Z',
    },
    '10.0.97.31': {
      Address: '10.0.97.31',
      IPAMKey: { networkName: 'aws-cni', containerID: '', ifName: '' },
      IPAMMetadata: { k8sPodNamespace: 'default', k8sPodName: 'web' },
      AssignedTime: '2026-08-20T10:00:00.123Z',
      UnassignedTime: '0001-01-01T00:00:00Z',
    },
  });
});

test('issue 11 item 7: times are Go\'s RFC 3339 with nanoseconds, trailing zeros dropped, no fraction on a whole second', async () => {
  datastore.restoreAssignment({ key: { networkName: 'aws-cni', containerId: '8b3d', ifName: 'eth0' }, metadata: {}, address: '10.0.97.32', assignedAtNs: 1_755_684_000_120_450_000n });
  now = Date.UTC(2026, 7, 20, 10, 1, 0);
  datastore.unassign({ networkName: 'aws-cni', containerId: '7a2c', ifName: 'eth0' }, now);
  const listed = await addresses() as Record<string, { AssignedTime: string; UnassignedTime: string }>;
  assert.equal(listed['10.0.97.32']!.AssignedTime, '2025-08-20T10:00:00.12045Z');
  assert.equal(listed['10.0.97.31']!.UnassignedTime, '2026-08-20T10:01:00Z');
});
