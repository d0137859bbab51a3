// `podnet ec2 serve` as a user meets it: its --help, its banner, and a real AWS CLI pointed at it with what the
// banner says. The AWS CLI runs with no configuration or credentials from this machine and only loopback endpoints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRegionName } from '../../../src/vpc/index.js';
import { podnet, podnetArgv, root } from '../../run-podnet.js';

/** Debian's awscli (scripts/install.sh installs it); a pyenv or pip `aws` elsewhere on PATH is not the one meant. */
const DEBIAN_AWS = '/usr/bin/aws';

/** Starts `podnet ec2 serve ARGS` on loopback ports the kernel picks; resolves once the banner is complete. */
function startServe(args: string[]): Promise<{ banner: string; stderr: () => string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [...podnetArgv, 'ec2', 'serve', '--listen', '127.0.0.1:0', '--imds-listen', '127.0.0.1:0', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => { if (signal) err += `[killed by ${signal}]`; resolve(code); }));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    return exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`ec2 serve printed no complete banner in 20 s; stdout: ${out} stderr: ${err}`));
    }, 20_000);
    const check = () => {
      // the text banner ends with the IMDS note; --json is one line
      if (/\(IMDS answers for[^\n]*\n/.test(out) || (args.includes('--json') && out.includes('\n'))) {
        clearTimeout(timer);
        resolve({ banner: out, stderr: () => err, stop });
      }
    };
    child.stdout.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`ec2 serve exited ${code} before its banner; stderr: ${err}`));
    });
  });
}

const isLoopbackUrl = (v: string) => /^http:\/\/127\.\d+\.\d+\.\d+:\d+(\/|$)/.test(v);

test('issue 11: ec2 serve --help shows defaults as a user types them, not JSON', () => {
  const r = podnet(['ec2', 'serve', '--help']);
  assert.equal(r.status, 0);
  const help = r.stdout.replace(/\s+/g, ' ');
  assert.match(help, /--listen <host:port> EC2 endpoint address \(default: 127\.0\.0\.1:7311\)/);
  assert.match(help, /--imds-listen <host:port> IMDS endpoint address \(default: 127\.0\.0\.1:7312\)/);
  assert.match(help, /region the emulator reports \(default: the region of the --topology file's zones, else us-west-2\)/);
  assert.doesNotMatch(help, /\{"host"|default: "|default: false/);
});

test(
  'issue 11: aws ec2 describe-vpcs (Debian awscli) works with the ec2 serve banner',
  { skip: existsSync(DEBIAN_AWS) ? false : `${DEBIAN_AWS} is absent (Debian's awscli package; scripts/install.sh installs it)`, timeout: 90_000 },
  async () => {
    const serve = await startServe(['--topology', 'examples/vpc.yaml']);
    const home = mkdtempSync(join(tmpdir(), 'podnet-awscli-'));
    try {
      // the banner's `export K=V` lines are the environment, and its `aws … --endpoint-url URL` line the command
      const bannerEnv = Object.fromEntries([...serve.banner.matchAll(/^ {2}export ([A-Z0-9_]+)=(\S*)$/gm)].map((m) => [m[1]!, m[2]!]));
      assert.equal(bannerEnv.AWS_DEFAULT_REGION, 'us-west-2', 'AWS CLI v1 reads only AWS_DEFAULT_REGION');
      assert.equal(bannerEnv.AWS_REGION, 'us-west-2');
      assert.ok(bannerEnv.AWS_ACCESS_KEY_ID && bannerEnv.AWS_SECRET_ACCESS_KEY, 'the CLI signs every request, so the banner gives it credentials');
      const example = /^ {2}aws (ec2 describe-vpcs --endpoint-url (\S+))/m.exec(serve.banner);
      assert.ok(example, `the banner shows the --endpoint-url form:\n${serve.banner}`);
      const endpointUrl = example[2]!;
      for (const url of [endpointUrl, bannerEnv.AWS_ENDPOINT_URL_EC2!, bannerEnv.AWS_EC2_METADATA_SERVICE_ENDPOINT!]) assert.ok(isLoopbackUrl(url), url);
      const env = {
        PATH: '/usr/bin:/bin',
        HOME: home,
        // nothing from this machine's AWS configuration: no profile, no credentials file, no instance metadata
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_PAGER: '',
        ...bannerEnv,
      };
      const aws = spawnSync(DEBIAN_AWS, [...example[1]!.split(' '), '--output', 'json'], { env, encoding: 'utf8', timeout: 60_000 });
      assert.equal(aws.status, 0, `aws exited ${aws.status}: ${aws.stderr}`);
      const out = JSON.parse(aws.stdout) as { Vpcs: Array<{ VpcId: string; CidrBlock: string }> };
      // examples/vpc.yaml declares the main VPC and a peered one
      assert.deepEqual(out.Vpcs.map((v) => v.CidrBlock).sort(), ['10.0.0.0/16', '10.1.0.0/16']);
      for (const v of out.Vpcs) assert.match(v.VpcId, /^vpc-[0-9a-f]{17}$/);
    } finally {
      rmSync(home, { recursive: true, force: true });
      assert.equal(await serve.stop(), 0);
    }
  },
);

test('issue 11: ec2 serve starts without the AWS SDK NodeVersionSupportWarning on stderr', { timeout: 60_000 }, async () => {
  const serve = await startServe(['--topology', 'examples/vpc.yaml', '--json']);
  const code = await serve.stop();
  assert.equal(code, 0, serve.stderr());
  assert.equal(serve.stderr(), '', 'the topology went through the SDK client, and stderr stayed empty');
  const banner = JSON.parse(serve.banner) as { env: Record<string, string> };
  assert.equal(banner.env.AWS_DEFAULT_REGION, 'us-west-2');
});

test('issue 11: ec2 serve --topology in eu-west-1 zones runs in eu-west-1; --region eu-west-1 agrees, another region is refused up front', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-ec2-region-'));
  try {
    const file = join(dir, 'eu.yaml');
    writeFileSync(file, readFileSync(join(root, 'examples/vpc.yaml'), 'utf8').replaceAll('us-west-2a', 'eu-west-1a'));
    const serve = await startServe(['--topology', file, '--json']);
    assert.equal(await serve.stop(), 0, serve.stderr());
    const banner = JSON.parse(serve.banner) as { region: string; env: Record<string, string> };
    assert.equal(banner.region, 'eu-west-1');
    assert.equal(banner.env.AWS_DEFAULT_REGION, 'eu-west-1');
    const agreeing = await startServe(['--topology', file, '--region', 'eu-west-1', '--json']);
    assert.equal(await agreeing.stop(), 0, agreeing.stderr());
    assert.equal((JSON.parse(agreeing.banner) as { region: string }).region, 'eu-west-1');
    // review 8: a --region that disagrees with the zones is a usage error naming both, before anything listens
    const r = podnet(['ec2', 'serve', '--listen', '127.0.0.1:0', '--imds-listen', '127.0.0.1:0', '--topology', file, '--region', 'us-east-1']);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `error: --region us-east-1 disagrees with the zones of --topology ${file}: its subnets are in eu-west-1 (eu-west-1a), and one emulator answers for one region\n`
      + 'hint: drop --region (the topology\'s zones give eu-west-1), or put the subnets in zones of us-east-1\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('issue 11 review 8: ec2 serve --region must be a region name before it is printed into export lines: usage error otherwise', () => {
  for (const bad of ['us-east-1; touch pwned', 'us-west-2a', 'US-WEST-2', '']) {
    const r = podnet(['ec2', 'serve', '--listen', '127.0.0.1:0', '--imds-listen', '127.0.0.1:0', '--region', bad]);
    assert.equal(r.status, 2, `${JSON.stringify(bad)}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `error: --region ${JSON.stringify(bad)} is not a region name\nhint: give a region as AWS spells it, e.g. us-west-2, eu-west-1 or us-gov-west-1 (not a zone such as us-west-2a)\n`);
  }
});

test('issue 11 review 8: isRegionName is the zone grammar without the letter', () => {
  for (const good of ['us-west-2', 'eu-west-1', 'us-gov-west-1', 'eusc-de-east-1', 'ap-southeast-12']) assert.equal(isRegionName(good), true, good);
  for (const bad of ['us-west-2a', 'us-west', 'us-west-2\n', ' us-west-2', 'us_west_2', 'useast1']) assert.equal(isRegionName(bad), false, JSON.stringify(bad));
});

test('issue 11: pool simulate (which loads the AWS SDK) writes no NodeVersionSupportWarning', () => {
  const r = podnet(['pool', 'simulate', 't3.nano', '--pods', '1']);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /NodeVersionSupportWarning|AWS SDK for JavaScript/);
});

test('a real warning stays visible: the switch podnet sets is the SDK notice\'s own, not NODE_NO_WARNINGS', () => {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '-e', "import('./src/cli/main.ts').then(async (m) => { await m.main(['node', 'podnet', '--version']); process.emitWarning('a real warning'); })"],
    { cwd: root, encoding: 'utf8' },
  );
  assert.equal(r.status, 0);
  assert.match(r.stderr, /Warning: a real warning/);
});

test('ec2 serve --listen reads a listen address with the one parser: a unix socket, a bare port or a named port is a usage error; :PORT is every interface, so not loopback', () => {
  for (const bad of ['unix:/tmp/ec2.sock', '7311', 'localhost:ec2', '127.0.0.1:65536']) {
    const r = podnet(['ec2', 'serve', '--listen', bad, '--imds-listen', '127.0.0.1:0']);
    assert.equal(r.status, 2, `${bad}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`expected HOST:PORT .*got '${bad}'`));
  }
  const everywhere = podnet(['ec2', 'serve', '--listen', ':0', '--imds-listen', '127.0.0.1:0']);
  assert.equal(everywhere.status, 2, everywhere.stderr);
  assert.match(everywhere.stderr, /--listen 0\.0\.0\.0 is not a loopback address/);
});
