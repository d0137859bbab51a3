import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { podnet, type PodnetRun } from '../../run-podnet.js';
import { fileURLToPath } from 'node:url';

let dir = '';

/** Runs `podnet config ARGS` with only the given variables (and PATH) in its environment. */
function podnetConfig(args: string[], env: Record<string, string> = {}, input?: string): PodnetRun {
  return podnet(['config', ...args], { env, ...(input !== undefined && { input }) });
}

function envFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'podnet-config-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('podnet config with a valid environment prints every variable and exits 0', () => {
  const r = podnetConfig([], { WARM_IP_TARGET: '5', WARM_IP_TAGRET: '5' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^VARIABLE\s+VALUE\s+SOURCE\s+NOTE$/m);
  assert.match(r.stdout, /^WARM_IP_TARGET\s+5\s+env\s*$/m);
  assert.match(r.stdout, /^ENABLE_IPv4\s+true\s+default\s+upstream code default false; the manifest sets true$/m);
  assert.match(r.stdout, /^warning\s+WARM_IP_TAGRET: not a known variable; probable typo of WARM_IP_TARGET — rename it to WARM_IP_TARGET$/m);
  assert.match(r.stdout, /^configuration valid: 0 errors, 1 warning$/m);
  assert.equal(r.stderr, '');
});

test('podnet config exits 1 and lists each error with its reason and fix', () => {
  const file = envFile('bad.env', 'ENABLE_IPv4=false\nENABLE_IPv6=true\nAWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true\nAWS_VPC_ENI_MTU=70000\n');
  const r = podnetConfig(['--env-file', file]);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /^error\s+ENABLE_IPv6: IPv6 needs prefix delegation; ipamd fails to start — set ENABLE_PREFIX_DELEGATION=true$/m);
  assert.match(r.stdout, /^error\s+AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: custom networking is not supported with IPv6/m);
  assert.match(r.stdout, /^error\s+AWS_VPC_ENI_MTU: 70000 is outside 1280\.\.9001 \(IPv6\)/m);
  assert.match(r.stdout, /^error\s+ENABLE_IPv6: IPv6 pods \(ENABLE_IPv6=true\) and, with ENABLE_V4_EGRESS at its default true, IPv4 egress for IPv6 pods \(egress-cni, v4if0\) are not implemented yet in podnet/m);
  assert.doesNotMatch(r.stdout, /^error\s+ENABLE_V4_EGRESS/m);
  assert.match(r.stdout, /^ENABLE_IPv6\s+true\s+file/m);
  assert.match(r.stderr, /^error: 4 settings would stop aws-node from starting or are not implemented yet in podnet\nhint: /);
});

test('issue 11 item 3: a malformed value upstream replaces is a warning with the value used: exit 0', () => {
  const r = podnetConfig(['--env-file', envFile('malformed.env', 'WARM_ENI_TARGET=two\n')]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^warning\s+WARM_ENI_TARGET: "two" is not a whole number; upstream silently uses 1 — /m);
  assert.match(r.stdout, /^configuration valid: 0 errors, 1 warning$/m);
});

test('issue 11 review 7: "(using VALUE)" is printed only when the message does not say the value already', () => {
  const r = podnetConfig(['--problems', '--env-file', envFile('used.env', 'WARM_IP_TARGET=-1\nDISABLE_TCP_EARLY_DEMUX=yes\nAWS_VPC_K8S_CNI_LOGLEVEL=loud\nAWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS=10.0.0.0/8,10.300.0.0/16\n')]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, [
    'problems:',
    'warning  WARM_IP_TARGET: -1 is below 0; upstream silently uses 0, as if it were unset — set a whole number ≥ 0, or unset it for 0',
    // this message does not say what upstream runs with, so the suffix stays: the list left after the bad item
    'warning  AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: "10.300.0.0" is not an IP address: a part is larger than 255; upstream logs an error and skips the item (using 10.0.0.0/8) — write IPv4 CIDRs separated by commas, e.g. 10.0.0.0/8,192.168.0.0/16',
    'warning  DISABLE_TCP_EARLY_DEMUX: "yes" is not a boolean; upstream logs an error and uses false — use true or false (Go ParseBool also takes 1/0, t/f, T/F, TRUE/FALSE, True/False)',
    'warning  AWS_VPC_K8S_CNI_LOGLEVEL: "loud" is not a log level; upstream logs at DEBUG — set one of debug, info, warn, error, fatal (any case)',
    '',
    'configuration valid: 0 errors, 4 warnings',
    '',
  ].join('\n'));
});

test('issue 11 review 7: ENABLE_IPv4="" is one error that says why, not an error and a warning', () => {
  const r = podnetConfig(['--problems', '--env-file', envFile('v4empty.env', 'ENABLE_IPv4=\n')]);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, [
    'problems:',
    'error    ENABLE_IPv4: ENABLE_IPv4 and ENABLE_IPv6 are both false (ENABLE_IPv4="" is not a boolean, so ipamd uses its code default false); ipamd fails to start ("IPv4 and IPv6 are both disabled") — set ENABLE_IPv4=true (upstream\'s code default is false, the manifest sets true)',
    '',
    'configuration invalid: 1 error, 0 warnings',
    '',
  ].join('\n'));
});

test('issue 11 review 7: ENABLE_V4_EGRESS left at its default is folded into the ENABLE_IPv6 error; set explicitly it is its own', () => {
  const v6 = 'ENABLE_IPv4=false\nENABLE_IPv6=true\nENABLE_PREFIX_DELEGATION=true\n';
  const unset = podnetConfig(['--problems', '--env-file', envFile('v6.env', v6)]);
  assert.equal(unset.status, 1);
  assert.equal(unset.stdout, [
    'problems:',
    'error    ENABLE_IPv6: IPv6 pods (ENABLE_IPv6=true) and, with ENABLE_V4_EGRESS at its default true, IPv4 egress for IPv6 pods (egress-cni, v4if0) are not implemented yet in podnet; podnet ipamd refuses to start rather than run without it — run an IPv4 cluster (ENABLE_IPv4=true, ENABLE_IPv6=false) with podnet for now',
    '',
    'configuration invalid: 1 error, 0 warnings',
    '',
  ].join('\n'));
  const set = podnetConfig(['--problems', '--env-file', envFile('v6egress.env', `${v6}ENABLE_V4_EGRESS=true\n`)]);
  assert.match(set.stdout, /^error {4}ENABLE_IPv6: IPv6 pods \(ENABLE_IPv6=true\) is not implemented yet in podnet/m);
  assert.match(set.stdout, /^error {4}ENABLE_V4_EGRESS: IPv4 egress for IPv6 pods through egress-cni \(v4if0\) is not implemented yet in podnet/m);
  assert.match(set.stdout, /^configuration invalid: 2 errors, 0 warnings$/m);
  const off = podnetConfig(['--problems', '--env-file', envFile('v6noegress.env', `${v6}ENABLE_V4_EGRESS=false\n`)]);
  assert.match(off.stdout, /^error {4}ENABLE_IPv6: IPv6 pods \(ENABLE_IPv6=true\) is not implemented yet in podnet/m);
  assert.match(off.stdout, /^configuration invalid: 1 error, 0 warnings$/m);
});

test('--env-file reads only the file, not the process environment', () => {
  const r = podnetConfig(['--env-file', envFile('empty.env', '# nothing\n')], { ENABLE_IPv4: 'false' });
  assert.equal(r.status, 0, r.stdout);
});

test('an unreadable env file is a usage error: error:/hint:, exit 2', () => {
  const r = podnetConfig(['--env-file', join(dir, 'missing.env')]);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^error: cannot read env file .*missing\.env: it does not exist\nhint: /);
});

test('an unknown option is a usage error: exit 2', () => {
  const r = podnetConfig(['--env']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^error: /);
});

test('--json prints {valid, config, settings, problems, typos}', () => {
  const r = podnetConfig(['--json', '--env-file', envFile('json.env', 'WARM_IP_TARGET=-1\nAWS_VPC_K8S_CNI_VETHPREFIX=vlan\nENABLE_IPV6=true\n')]);
  assert.equal(r.status, 1);
  const out = JSON.parse(r.stdout) as {
    valid: boolean;
    config: Record<string, unknown>;
    settings: Array<{ name: string; value: string; source: string }>;
    problems: Array<{ variable: string; severity: string; rule: string; message: string; fix: string }>;
    typos: Array<{ variable: string; suggestions: string[] }>;
  };
  assert.deepEqual(Object.keys(out), ['valid', 'config', 'settings', 'problems', 'typos']);
  assert.equal(out.valid, false);
  assert.equal(out.config.warmIpTarget, 0);
  assert.equal(out.config.enableIPv4, true);
  assert.deepEqual(out.settings.find((s) => s.name === 'WARM_IP_TARGET'), {
    name: 'WARM_IP_TARGET', value: '0', source: 'file', raw: '-1', default: '0', notes: [], podnetOnly: false,
    readBy: ['ipamd', 'entrypoint'], description: 'Free IPs to keep; >0 overrides WARM_ENI_TARGET and WARM_PREFIX_TARGET.',
  });
  assert.deepEqual(out.problems.map((p) => `${p.severity} ${p.rule} ${p.variable}`), [
    'warning negative-target WARM_IP_TARGET',
    'error veth-prefix-reserved AWS_VPC_K8S_CNI_VETHPREFIX',
  ]);
  assert.deepEqual(out.typos.map((t) => [t.variable, t.suggestions[0]]), [['ENABLE_IPV6', 'ENABLE_IPv6']]);
});

const fixture = fileURLToPath(new URL('./fixtures/aws-k8s-cni.yaml', import.meta.url));

test('issue 11 config: --env-file - reads KEY=VALUE lines from standard input', () => {
  const r = podnetConfig(['--env-file', '-', '--problems'], { ENABLE_IPv4: 'false' }, 'IP_COOLDOWN_PERIOD=\nMAX_ENI=two\n');
  assert.equal(r.status, 1);
  assert.equal(r.stdout, [
    'problems:',
    'error    IP_COOLDOWN_PERIOD: "" is not a whole number; the entrypoint exits 1 ("IP_COOLDOWN_PERIOD MUST be a valid positive integer") and aws-node never starts — set a whole number ≥ 0, e.g. 30',
    'warning  MAX_ENI: "two" is not a whole number; upstream silently uses no cap — set a whole number ≥ 1, or unset it',
    '',
    'configuration invalid: 1 error, 1 warning',
    '',
  ].join('\n'));
  assert.match(r.stderr, /^error: 1 setting would stop aws-node from starting or is not implemented yet in podnet\nhint: /);
});

test('issue 11 config: --env-file takes the aws-node DaemonSet manifest (YAML), also on standard input', () => {
  for (const [args, input] of [[['--env-file', fixture], undefined], [['--env-file', '-'], readFileSync(fixture, 'utf8')]] as const) {
    const r = podnetConfig([...args], {}, input);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^WARM_IP_TARGET\s+0\s+file$/m);
    assert.match(r.stdout, /^DISABLE_TCP_EARLY_DEMUX\s+true\s+file$/m);
    assert.match(r.stdout, /^warning\s+WARM_IP_TARGET: "1\.5" is not a whole number; upstream silently uses 0, as if it were unset — /m);
    // review 6: MY_NODE_NAME (fieldRef spec.nodeName, in every real manifest) is taken as given: a note on its row,
    // not a warning
    assert.match(r.stdout, /^MY_NODE_NAME\s+""\s+default\s+valueFrom fieldRef spec\.nodeName: filled in by the kubelet, shown as unset$/m);
    assert.doesNotMatch(r.stdout, /^warning\s+MY_NODE_NAME/m);
    assert.match(r.stdout, /^configuration valid: 0 errors, 1 warning$/m);
  }
});

test('issue 11 config: --problems prints only the findings, with the same exit status; an empty list says so', () => {
  const clean = podnetConfig(['--problems', '--env-file', envFile('clean.env', 'WARM_IP_TARGET=2\n')]);
  assert.equal(clean.status, 0);
  assert.equal(clean.stdout, 'configuration valid: 0 errors, 0 warnings\n');
  const json = podnetConfig(['--problems', '--json', '--env-file', envFile('v6.env', 'ENABLE_MULTI_NIC=true\n')]);
  assert.equal(json.status, 1);
  const out = JSON.parse(json.stdout) as { valid: boolean; problems: Array<{ rule: string; variable: string }>; typos: unknown[] };
  assert.deepEqual(Object.keys(out), ['valid', 'problems', 'typos']);
  assert.deepEqual(out.problems.map((p) => `${p.rule} ${p.variable}`), ['not-implemented ENABLE_MULTI_NIC']);
});

test('issue 11 config: --os windows reports the SNAT variables as not applicable and custom networking / pod ENIs as unsupported', () => {
  const file = envFile('win.env', 'AWS_VPC_K8S_CNI_EXTERNALSNAT=false\nAWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS=10.1.0.0/16\nENABLE_POD_ENI=true\n');
  const r = podnetConfig(['--os', 'windows', '--problems', '--env-file', file]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^warning\s+AWS_VPC_K8S_CNI_EXTERNALSNAT: not applicable on Windows nodes: SNAT cannot be disabled there/m);
  assert.match(r.stdout, /^warning\s+AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: not applicable on Windows nodes: their SNAT exclusions come from the bootstrap script's ExcludedSnatCIDRs/m);
  assert.match(r.stdout, /^warning\s+ENABLE_POD_ENI: security groups for pods \(pod ENIs\) are not supported on Windows nodes/m);
  assert.equal(podnetConfig(['--problems', '--env-file', file]).stdout, 'configuration valid: 0 errors, 0 warnings\n');
  assert.equal(podnetConfig(['--os', 'macos']).status, 2);
});

test('issue 11 review 5: --os windows says once that AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS does not apply, without the Linux "has no effect" rule', () => {
  const file = envFile('win-snat.env', 'AWS_VPC_K8S_CNI_EXTERNALSNAT=true\nAWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS=10.1.0.0/16\n');
  const r = podnetConfig(['--os', 'windows', '--problems', '--env-file', file]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, [
    'problems:',
    'warning  AWS_VPC_K8S_CNI_EXTERNALSNAT: not applicable on Windows nodes: SNAT cannot be disabled there — nothing to set for Windows; the value applies to Linux nodes only',
    'warning  AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: not applicable on Windows nodes: their SNAT exclusions come from the bootstrap script\'s ExcludedSnatCIDRs — pass -ExcludedSnatCIDRs to the Windows bootstrap script (Start-EKSBootstrap.ps1)',
    '',
    'configuration valid: 0 errors, 2 warnings',
    '',
  ].join('\n'));
  // on Linux the cross rule still applies
  assert.match(podnetConfig(['--problems', '--env-file', file]).stdout, /^warning {2}AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: "10\.1\.0\.0\/16" has no effect: AWS_VPC_K8S_CNI_EXTERNALSNAT=true removes the SNAT rules/m);
});
