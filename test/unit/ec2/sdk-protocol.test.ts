import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CreateVpcCommand, DescribeNetworkInterfacesCommand, DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import { emulatorForFile, postForm, rejectsWith } from './sdk-harness.js';

const h = emulatorForFile();

const errorCode = (text: string) => /<Code>([^<]+)<\/Code>/.exec(text)?.[1];

test('an SDK call gets EC2 XML back and parses it', async () => {
  const created = await h.ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
  assert.match(created.Vpc!.VpcId!, /^vpc-/);
  assert.ok(created.$metadata.requestId, 'request ID from the x-amzn-requestid header');
  const described = await h.ec2.send(new DescribeVpcsCommand({ VpcIds: [created.Vpc!.VpcId!] }));
  assert.equal(described.Vpcs![0]!.CidrBlock, '10.0.0.0/16');
});

test('an EC2 error reaches the SDK as a typed exception with code, message, status and request ID', async () => {
  const err = await rejectsWith(h.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['eni-0123456789abcdef0'] })), 'InvalidNetworkInterfaceID.NotFound', {
    message: /'eni-0123456789abcdef0'/,
  });
  assert.ok(err.$metadata.requestId);
});

test('malformed requests get EC2 error XML and the right status, and the server keeps serving', async () => {
  const cases: Array<[string, string, number]> = [
    ['Version=2016-11-15', 'MissingAction', 400],
    ['Action=DescribeVpcs', 'MissingParameter', 400],
    ['Action=DescribeVpcs&Version=2013-02-01', 'NoSuchVersion', 400],
    ['Action=LaunchRockets&Version=2016-11-15', 'InvalidAction', 400],
    ['Action=__proto__&Version=2016-11-15', 'InvalidAction', 400],
    ['\u0000\u00ff%%%garbage=&&==', 'MissingAction', 400],
    ['Action=DescribeNetworkInterfaces&Version=2016-11-15&MaxResults=lots', 'InvalidParameterValue', 400],
  ];
  for (const [body, code, status] of cases) {
    const res = await postForm(h.server.ec2Url, body);
    assert.equal(res.status, status, body);
    assert.equal(errorCode(res.text), code, body);
    assert.match(res.text, /^<\?xml[^>]*>\n<Response><Errors><Error><Code>.*<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$/);
  }
  const put = await fetch(h.server.ec2Url, { method: 'PUT', body: 'x' });
  assert.equal(errorCode(await put.text()), 'InvalidAction');
  const huge = await postForm(h.server.ec2Url, 'Action=DescribeVpcs&Version=2016-11-15&x=' + 'a'.repeat(2 << 20));
  assert.equal(huge.status, 413);
  // still serving
  assert.ok((await h.ec2.send(new DescribeVpcsCommand({}))).Vpcs);
});

test('EC2 accepts the parameters in a GET query string too', async () => {
  const res = await fetch(`${h.server.ec2Url}/?Action=DescribeVpcs&Version=2016-11-15`);
  assert.equal(res.status, 200);
  assert.match(await res.text(), /^<\?xml[^>]*>\n<DescribeVpcsResponse xmlns="http:\/\/ec2\.amazonaws\.com\/doc\/2016-11-15\/"><requestId>/);
});
