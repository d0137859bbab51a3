import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseQuery } from '../../../src/ec2/query.js';
import { Ec2Error } from '../../../src/ec2/protocol.js';

const parse = (body: string) => parseQuery(new URLSearchParams(body));
const base = 'Action=DescribeNetworkInterfaces&Version=2016-11-15';

function assertEc2Error(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof Ec2Error && err.code === code && err.status === 400);
}

test('reads the action and scalars of a request body', () => {
  const p = parse(`${base}&NetworkInterfaceId=eni-1&MaxResults=5&DryRun=false`);
  assert.equal(p.action, 'DescribeNetworkInterfaces');
  assert.equal(p.str('NetworkInterfaceId'), 'eni-1');
  assert.equal(p.int('MaxResults'), 5);
  assert.equal(p.bool('DryRun'), false);
  assert.equal(p.str('Absent'), undefined);
  assert.equal(p.int('Absent'), undefined);
});

test('flattened lists come back in index order, not body order', () => {
  const p = parse(`${base}&PrivateIpAddress.10=10.0.0.10&PrivateIpAddress.2=10.0.0.2&PrivateIpAddress.1=10.0.0.1`);
  assert.deepEqual(p.list('PrivateIpAddress'), ['10.0.0.1', '10.0.0.2', '10.0.0.10']);
  assert.deepEqual(p.list('Ipv4Prefix'), []);
});

test('filters group Filter.N.Value.M under their names', () => {
  const p = parse(`${base}&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1&Filter.1.Value.2=vpc-2&Filter.2.Name=status&Filter.2.Value.1=available`);
  assert.deepEqual([...p.filters()], [
    ['vpc-id', ['vpc-1', 'vpc-2']],
    ['status', ['available']],
  ]);
});

test('tag specifications and nested structures read as sub-readers', () => {
  const p = parse(
    'Action=CreateNetworkInterface&Version=2016-11-15&TagSpecification.1.ResourceType=network-interface' +
      '&TagSpecification.1.Tag.1.Key=a&TagSpecification.1.Tag.1.Value=b&TagSpecification.1.Tag.2.Key=empty' +
      '&Attachment.AttachmentId=eni-attach-1&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0%2F0',
  );
  assert.deepEqual(p.tagSpecifications(), [{ resourceType: 'network-interface', tags: [{ key: 'a', value: 'b' }, { key: 'empty', value: '' }] }]);
  assert.equal(p.str('Attachment.AttachmentId'), 'eni-attach-1');
  assert.equal(p.structs('IpPermissions')[0]!.structs('IpRanges')[0]!.str('CidrIp'), '0.0.0.0/0');
});

test('a missing required parameter is MissingParameter, with the full parameter name', () => {
  const p = parse(`${base}&Filter.1.Value.1=x`);
  assertEc2Error(() => p.req('SubnetId'), 'MissingParameter');
  assert.throws(() => p.filters(), /Filter\.1\.Name/);
});

test('bad integers and booleans are InvalidParameterValue', () => {
  const p = parse(`${base}&MaxResults=five&DryRun=yes&Count=1.5`);
  assertEc2Error(() => p.int('MaxResults'), 'InvalidParameterValue');
  assertEc2Error(() => p.int('Count'), 'InvalidParameterValue');
  assertEc2Error(() => p.bool('DryRun'), 'InvalidParameterValue');
});

test('Action and Version are checked: MissingAction, MissingParameter, NoSuchVersion', () => {
  assertEc2Error(() => parse('Version=2016-11-15'), 'MissingAction');
  assertEc2Error(() => parse('Action=DescribeVpcs'), 'MissingParameter');
  assertEc2Error(() => parse('Action=DescribeVpcs&Version=2014-01-01'), 'NoSuchVersion');
  assertEc2Error(() => parse('\u0000garbage%%%'), 'MissingAction');
});

test('a parameter given twice is refused rather than silently picking one', () => {
  assertEc2Error(() => parse(`${base}&MaxResults=5&MaxResults=6`), 'InvalidParameterCombination');
});
