import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderHostRules, type HostNetworkInput } from '../../../src/dataplane/index.js';
import { parseIptablesSpec, parseNftRule } from '../../../src/explain/node-rules.js';

// The interpreter reads exactly the grammar the renderers emit: every rule they render for any IPv4 configuration
// must parse (a rule it cannot parse would make explain answer `unknown` for every flow that reaches it).
test('every iptables spec and nft rule renderHostRules emits for IPv4 settings is understood', () => {
  let specs = 0;
  for (const connmarkBackend of ['iptables', 'nftables'] as const)
    for (const externalSnat of [false, true])
      for (const nodePortSupport of [false, true])
        for (const randomizeSnat of ['prng', 'hashrandom', 'none'] as const)
          for (const randomFullySupported of [false, true])
            for (const pre18Routing of [false, true]) {
              const input: HostNetworkInput = {
                vpcCidrs: ['10.0.0.0/16', '100.64.0.0/16'], excludeSnatCidrs: ['192.168.0.0/16', '10.1.2.3/32'], primaryIp: '10.0.0.10', primaryInterface: 'ens5', vethPrefix: 'veth',
                connmarkBackend, mark: 0x4000, externalSnat, nodePortSupport, randomizeSnat, randomFullySupported, ipv6: false, pre18Routing, externalServiceCidrs: ['172.20.0.0/16'],
              };
              const host = renderHostRules(input);
              const chains = new Set(host.iptables.chains.map((c) => c.chain));
              for (const r of host.iptables.rules) {
                specs++;
                assert.notEqual(parseIptablesSpec(r.spec, chains), null, `${r.table} ${r.chain}: ${r.spec}`);
              }
              for (const rule of host.nft ? [...host.nft.prerouting, ...host.nft.cidrReturns, host.nft.setMark] : []) assert.notEqual(parseNftRule(rule), null, rule);
            }
  assert.ok(specs > 100, `${specs} specs checked`);
});

test('what the interpreter does not know it does not guess: other matches, targets and jumps to unknown chains', () => {
  const chains = new Set(['AWS-SNAT-CHAIN-0']);
  for (const spec of ['-m set --match-set x dst -j RETURN', '-s 10.0.0.0/8 -j RETURN', '-d 10.0.0.0/8 -j MASQUERADE', '-j KUBE-SERVICES', '-p tcp --dport 80 -j RETURN', '-d 10.0.0.0/8', '! -j RETURN', '-j SNAT --to-source 10.0.0.10:1024-2048', '-j SNAT --to-source 10.0.0.10-10.0.0.12']) {
    assert.equal(parseIptablesSpec(spec, chains), null, spec);
  }
  assert.deepEqual(parseIptablesSpec('! -d 10.0.0.0/8 -j AWS-SNAT-CHAIN-0', chains)?.target, { kind: 'jump', chain: 'AWS-SNAT-CHAIN-0' });
  for (const rule of ['ip daddr 10.0.0.0/8 return', 'counter ip saddr 10.0.0.0/8 return', 'meta mark set 0x80', 'iifname "eni*" counter goto snat-mark']) assert.equal(parseNftRule(rule), null, rule);
});

test("the SNAT rule's `! -o vlan+` is a negated prefix match: a packet leaving by a branch pod's vlan.eth.<id> is not translated", () => {
  const input: HostNetworkInput = {
    vpcCidrs: ['10.0.0.0/16'], excludeSnatCidrs: [], primaryIp: '10.0.0.10', primaryInterface: 'eth0', vethPrefix: 'eni', connmarkBackend: 'nftables', externalSnat: false,
    nodePortSupport: true, randomizeSnat: 'prng', randomFullySupported: true, ipv6: false, pre18Routing: false, externalServiceCidrs: [], podSgStrict: true,
  };
  const host = renderHostRules(input);
  const snat = host.iptables.rules.find((r) => / -j SNAT /.test(r.spec))!;
  assert.match(snat.spec, /^! -o vlan\+ /);
  const parsed = parseIptablesSpec(snat.spec, new Set(host.iptables.chains.map((c) => c.chain)));
  assert.deepEqual(parsed?.oif, { name: 'vlan', prefix: true, negate: true });
  assert.deepEqual(parsed?.target, { kind: 'snat', toSource: '10.0.0.10', portFlag: 'random-fully' });
});
