// Issue 11 items 2, 3 and 4 through `podnet ipamd`'s real start-up path (the CLI process, its config check and
// its log): it starts on a value upstream tolerates, logging the value used, and refuses what stops aws-node or
// what podnet does not implement yet.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { podnetArgv, root } from '../../run-podnet.js';
import { daemonEnv, startCloud, type Cloud } from '../ipamd/daemon-harness.js';

const argv = [...podnetArgv, 'ipamd'];
const base = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
let cloud: Cloud;

before(async () => {
  cloud = await startCloud();
});
after(() => cloud.close());

/** pino's JSON lines on stderr → { level, msg }. */
function logLines(stderr: string): Array<{ level: number; msg: string }> {
  return stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string });
}

test('issue 11 item 3: podnet ipamd starts on AWS_VPC_K8S_CNI_EXTERNALSNAT=yes and WARM_IP_TARGET=1.5, logging each warning with the value used', async () => {
  const child = spawn(process.execPath, argv, {
    cwd: root,
    env: { ...base, ...daemonEnv(cloud, { AWS_VPC_K8S_CNI_EXTERNALSNAT: 'yes', WARM_IP_TARGET: '1.5', MAX_ENI: 'two' }) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`ipamd did not report listening within 30 s:\n${stderr}`)), 30_000);
      child.stderr.on('data', (chunk: string) => {
        stderr += chunk;
        if (logLines(stderr).some((l) => l.msg.startsWith('listening: CNI'))) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then((code) => reject(new Error(`ipamd exited with ${code} before listening:\n${stderr}`)));
    });
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0);
  const warnings = logLines(stderr).filter((l) => l.level === 40).map((l) => l.msg);
  assert.ok(warnings.includes('AWS_VPC_K8S_CNI_EXTERNALSNAT: "yes" is not a boolean; upstream logs an error and uses false — use true or false (Go ParseBool also takes 1/0, t/f, T/F, TRUE/FALSE, True/False)'), warnings.join('\n'));
  assert.ok(warnings.some((w) => w.startsWith('WARM_IP_TARGET: "1.5" is not a whole number; upstream silently uses 0, as if it were unset — ')), warnings.join('\n'));
  assert.ok(warnings.some((w) => w.startsWith('MAX_ENI: "two" is not a whole number; upstream silently uses no cap — ')), warnings.join('\n'));
});

/** `podnet ipamd` with endpoints nothing listens on: a refusal must come before any EC2 or IMDS call. */
function refusedStart(extra: Record<string, string>): { status: number | null; stderr: string } {
  const res = spawnSync(process.execPath, argv, {
    cwd: root, encoding: 'utf8', timeout: 30_000,
    env: { ...base, AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:9', AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9', AWS_REGION: 'us-west-2', PODNET_DATAPLANE: 'none', ...extra },
  });
  assert.equal(res.signal, null, 'podnet ipamd did not finish within 30 s');
  return { status: res.status, stderr: res.stderr };
}

test('issue 11 item 2: podnet ipamd refuses IP_COOLDOWN_PERIOD="" as aws-node does: error:/hint:, exit 1', () => {
  const r = refusedStart({ IP_COOLDOWN_PERIOD: '' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^error: ipamd refuses to start: IP_COOLDOWN_PERIOD: "" is not a whole number; the entrypoint exits 1 \("IP_COOLDOWN_PERIOD MUST be a valid positive integer"\)[^\n]*\nhint: /m);
});

test('issue 11 item 4: podnet ipamd refuses ENABLE_IPv6=true with "not implemented yet in podnet": error:/hint:, exit 1', () => {
  const r = refusedStart({ ENABLE_IPv4: 'false', ENABLE_IPv6: 'true', ENABLE_PREFIX_DELEGATION: 'true', ENABLE_V4_EGRESS: 'false' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^error: ipamd refuses to start: ENABLE_IPv6: IPv6 pods \(ENABLE_IPv6=true\) is not implemented yet in podnet; podnet ipamd refuses to start rather than run without it\nhint: /m);
});
