/**
 * What the core reports about cloud calls (IpamMetrics) and where it lands: the SDK client reports one record per
 * call (not per retry attempt), IpamdMetrics turns it into upstream's awscni_* series, and a simulation counts the
 * same records with CloudCallCounter.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEc2Server, type Ec2Emulator } from '../../../src/ec2/index.js';
import { CloudCallCounter, CloudError, type CloudCall } from '../../../src/ipam/index.js';
import { IpamdMetrics, createEc2Client, sdkCloud } from '../../../src/ipamd/index.js';

let emulator: Ec2Emulator;
before(async () => {
  emulator = await startEc2Server({ listen: { host: '127.0.0.1', port: 0 }, imdsListen: { host: '127.0.0.1', port: 0 }, throttle: false });
});
after(() => emulator.close());

/** The SDK cloud against the emulator, reporting to `metrics`, with 3 attempts and no real backoff. */
function cloudReportingTo(metrics: { cloudCall(call: CloudCall): void }) {
  const ec2 = createEc2Client({
    endpoints: { ec2Endpoint: emulator.ec2Url, imdsEndpoint: emulator.imdsUrl, region: 'us-west-2', onAws: false },
    region: 'us-west-2', metrics, env: { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
    retry: { maxAttempts: 3, throttleBaseMs: 0, transientBaseMs: 0 },
  });
  return { cloud: sdkCloud(ec2), destroy: () => ec2.destroy() };
}

describe('cloud call metrics', () => {
  test('the SDK client reports each call once with its outcome; a throttled call retried 3 times is still one call', async () => {
    const calls: CloudCall[] = [];
    const { cloud, destroy } = cloudReportingTo({ cloudCall: (c) => calls.push(c) });
    try {
      await assert.rejects(cloud.describeEnis(['eni-0123456789abcdef0']), (err: unknown) => err instanceof CloudError && err.code === 'InvalidNetworkInterfaceID.NotFound');
      const res = await fetch(`${emulator.ec2Url}/_podnet/faults`, { method: 'POST', body: JSON.stringify({ seed: 1, actions: { DescribeSubnets: { errorRate: 1, errorCode: 'RequestLimitExceeded' } } }) });
      assert.equal(res.status, 200);
      await assert.rejects(cloud.describeSubnets(['subnet-0123456789abcdef0']), (err: unknown) => err instanceof CloudError && err.throttled);
      assert.deepEqual(calls.map((c) => [c.api, c.error, c.status]), [
        ['DescribeNetworkInterfaces', 'InvalidNetworkInterfaceID.NotFound', 400],
        ['DescribeSubnets', 'RequestLimitExceeded', 503],
      ]);
    } finally {
      destroy();
      await fetch(`${emulator.ec2Url}/_podnet/faults`, { method: 'POST', body: JSON.stringify({ actions: {} }) });
    }
  });

  test('IpamdMetrics counts calls and failures under upstream\'s names', async () => {
    const metrics = new IpamdMetrics({ version: 'test', processMetrics: false });
    metrics.cloudCall({ api: 'AssignPrivateIpAddresses', status: 200, latencyMs: 3 });
    metrics.cloudCall({ api: 'AssignPrivateIpAddresses', error: 'InsufficientFreeAddressesInSubnet', status: 400, latencyMs: 2 });
    assert.deepEqual(await metrics.ec2CallCounts(), { AssignPrivateIpAddresses: 2 });
    const text = await metrics.registry.metrics();
    assert.match(text, /awscni_ec2api_error_count\{fn="AssignPrivateIpAddresses"\} 1/);
    assert.match(text, /awscni_aws_api_error_count\{api="AssignPrivateIpAddresses",error="InsufficientFreeAddressesInSubnet"\} 1/);
    assert.match(text, /awscni_aws_api_latency_ms_count\{api="AssignPrivateIpAddresses",error="false",status="200"\} 1/);
  });

  test('CloudCallCounter counts by API and hands out the calls since the last look, in order', () => {
    const counter = new CloudCallCounter();
    for (const api of ['CreateNetworkInterface', 'AttachNetworkInterface', 'CreateNetworkInterface']) counter.cloudCall({ api, latencyMs: 0 });
    assert.deepEqual(counter.takeRecent(), ['CreateNetworkInterface', 'AttachNetworkInterface', 'CreateNetworkInterface']);
    counter.cloudCall({ api: 'DescribeInstances', latencyMs: 0 });
    assert.deepEqual(counter.takeRecent(), ['DescribeInstances']);
    assert.deepEqual([...counter.byApi()], [['CreateNetworkInterface', 2], ['AttachNetworkInterface', 1], ['DescribeInstances', 1]]);
    assert.equal(counter.total(), 4);
  });
});
