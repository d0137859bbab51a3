import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ec2Error } from '../../../src/ec2/protocol.js';
import { renderError, renderResponse } from '../../../src/ec2/xml.js';

test('a response is wrapped in <ActionResponse> with the namespace and request ID first', () => {
  const xml = renderResponse('AssignPrivateIpAddresses', 'req-1', {
    networkInterfaceId: 'eni-1',
    assignedPrivateIpAddressesSet: [{ privateIpAddress: '10.0.0.5' }, { privateIpAddress: '10.0.0.6' }],
    return: true,
    skipped: undefined,
    nothing: null,
  });
  assert.equal(
    xml,
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
      '<AssignPrivateIpAddressesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-1</requestId>' +
      '<networkInterfaceId>eni-1</networkInterfaceId><assignedPrivateIpAddressesSet><item><privateIpAddress>10.0.0.5</privateIpAddress></item>' +
      '<item><privateIpAddress>10.0.0.6</privateIpAddress></item></assignedPrivateIpAddressesSet><return>true</return>' +
      '</AssignPrivateIpAddressesResponse>',
  );
});

test('text is escaped and scalar lists render as <item> values', () => {
  const xml = renderResponse('X', 'r', { description: 'a<b & "c"', values: ['x', 1], empty: [] });
  assert.match(xml, /<description>a&lt;b &amp; &quot;c&quot;<\/description><values><item>x<\/item><item>1<\/item><\/values><empty><\/empty>/);
});

test('an error renders as EC2 error XML with Code, Message and RequestID', () => {
  const xml = renderError(new Ec2Error('InvalidNetworkInterfaceID.NotFound', "The networkInterface ID 'eni-<x>' does not exist"), 'req-2');
  assert.equal(
    xml,
    '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>InvalidNetworkInterfaceID.NotFound</Code>' +
      '<Message>The networkInterface ID &apos;eni-&lt;x&gt;&apos; does not exist</Message></Error></Errors><RequestID>req-2</RequestID></Response>',
  );
});
