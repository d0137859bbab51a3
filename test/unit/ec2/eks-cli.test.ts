// `podnet ec2 serve` with a topology that has a cluster section, as a user meets it: the banner's
// AWS_ENDPOINT_URL_EKS, --eks-certificate-authority, and the AWS CLI's `aws eks …` against it (describe-cluster,
// update-cluster-config, describe-update, an error as the CLI prints it). The AWS CLI runs with dummy credentials, no
// configuration from this machine and only the loopback endpoint.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { podnetArgv, root } from '../../run-podnet.js';

/** Debian's awscli (scripts/install.sh installs it); v2.9, which reads no AWS_ENDPOINT_URL_EKS, so --endpoint-url. */
const DEBIAN_AWS = '/usr/bin/aws';

const topology = `
vpcs: [{ name: main, cidr: 10.0.0.0/16 }]
subnets:
  - { name: public-a, vpc: main, az: us-west-2a, cidr: 10.0.0.0/20 }
  - { name: private-a, vpc: main, az: us-west-2a, cidr: 10.0.16.0/20 }
  - { name: private-b, vpc: main, az: us-west-2b, cidr: 10.0.48.0/20 }
internetGateways: [{ name: igw, vpc: main }]
routeTables: [{ name: public, vpc: main, subnets: [public-a], routes: [{ destination: 0.0.0.0/0, igw: igw }] }]
cluster:
  name: lab
  subnets: [private-a, private-b]
  publicAccessCidrs: [198.51.100.0/24]
  fargateProfiles: [{ name: fp-web, selectors: [{ namespace: web }] }]
`;
const CA = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';

let dir: string;
let child: ReturnType<typeof spawn>;
let banner: { ec2Url: string; env: Record<string, string>; topology: Array<{ kind: string; name: string; change: string }> };
let stderr = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'podnet-eks-cli-'));
  writeFileSync(join(dir, 'topology.yaml'), topology);
  writeFileSync(join(dir, 'ca.pem'), CA);
  child = spawn(process.execPath, [...podnetArgv, 'ec2', 'serve', '--listen', '127.0.0.1:0', '--imds-listen', '127.0.0.1:0', '--topology', join(dir, 'topology.yaml'), '--eks-certificate-authority', join(dir, 'ca.pem'), '--json'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let out = '';
  banner = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner in 60 s; stderr: ${stderr}`)), 60_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(JSON.parse(out.split('\n')[0]!));
      }
    });
    child.on('exit', (code) => reject(new Error(`ec2 serve exited ${code}: ${stderr}`)));
  });
});

after(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

test('the banner gives AWS_ENDPOINT_URL_EKS (the emulator\'s own port) and the topology\'s cluster and profile as created', () => {
  assert.equal(banner.env.AWS_ENDPOINT_URL_EKS, banner.ec2Url);
  assert.equal(banner.env.AWS_ENDPOINT_URL_EC2, banner.ec2Url);
  assert.deepEqual(
    banner.topology.filter((c) => c.kind === 'cluster' || c.kind === 'fargateProfiles').map((c) => [c.kind, c.name, c.change]),
    [['cluster', 'lab', 'created'], ['fargateProfiles', 'fp-web', 'created']],
  );
});

test('--eks-certificate-authority: DescribeCluster gives that file as certificateAuthority.data, read at each call', async () => {
  const read = async () => ((await (await fetch(`${banner.ec2Url}/clusters/lab`)).json()) as { cluster: { certificateAuthority: { data: string } } }).cluster.certificateAuthority.data;
  assert.equal(Buffer.from(await read(), 'base64').toString('utf8'), CA);
  const next = CA.replace('fake', 'next');
  writeFileSync(join(dir, 'ca.pem'), next);
  assert.equal(Buffer.from(await read(), 'base64').toString('utf8'), next);
});

const aws = (args: string[]) => {
  const env = {
    PATH: '/usr/bin:/bin',
    HOME: dir,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  };
  return spawnSync(DEBIAN_AWS, [...args, '--endpoint-url', banner.ec2Url, '--region', 'us-west-2', '--output', 'json'], { env, encoding: 'utf8', timeout: 60_000 });
};
const noCli = existsSync(DEBIAN_AWS) ? false : `${DEBIAN_AWS} is absent (Debian's awscli package; scripts/install.sh installs it)`;

test('aws eks describe-cluster, list-fargate-profiles, update-cluster-config and describe-update work against the emulator', { skip: noCli, timeout: 180_000 }, () => {
  const described = aws(['eks', 'describe-cluster', '--name', 'lab']);
  assert.equal(described.status, 0, described.stderr);
  const cluster = (JSON.parse(described.stdout) as { cluster: { name: string; status: string; endpoint: string; resourcesVpcConfig: { publicAccessCidrs: string[]; clusterSecurityGroupId: string } } }).cluster;
  assert.equal(cluster.name, 'lab');
  assert.equal(cluster.status, 'ACTIVE');
  assert.match(cluster.endpoint, /^https:\/\/[0-9A-F]{32}\.gr7\.us-west-2\.eks\.amazonaws\.com$/);
  assert.deepEqual(cluster.resourcesVpcConfig.publicAccessCidrs, ['198.51.100.0/24']);
  assert.match(cluster.resourcesVpcConfig.clusterSecurityGroupId, /^sg-/);
  const profiles = aws(['eks', 'list-fargate-profiles', '--cluster-name', 'lab']);
  assert.equal(profiles.status, 0, profiles.stderr);
  assert.deepEqual((JSON.parse(profiles.stdout) as { fargateProfileNames: string[] }).fargateProfileNames, ['fp-web']);
  const updated = aws(['eks', 'update-cluster-config', '--name', 'lab', '--resources-vpc-config', 'endpointPrivateAccess=true,publicAccessCidrs=198.51.100.0/24,203.0.113.4/32']);
  assert.equal(updated.status, 0, updated.stderr);
  const update = (JSON.parse(updated.stdout) as { update: { id: string; status: string; type: string } }).update;
  assert.equal(update.type, 'EndpointAccessUpdate');
  const described2 = aws(['eks', 'describe-update', '--name', 'lab', '--update-id', update.id]);
  assert.equal(described2.status, 0, described2.stderr);
  assert.match((JSON.parse(described2.stdout) as { update: { status: string } }).update.status, /^(InProgress|Successful)$/);
});

test('an EKS error as the AWS CLI prints it: the exception code, the operation and EKS\'s message', { skip: noCli, timeout: 60_000 }, () => {
  const r = aws(['eks', 'describe-cluster', '--name', 'ghost']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /An error occurred \(ResourceNotFoundException\) when calling the DescribeCluster operation: No cluster found for name: ghost\./);
});
