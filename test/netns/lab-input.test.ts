// Class 9 of issue 10 (lab input), the part that needs root: a scenario EC2 refuses makes `lab up` fail and remove
// what it had built; `lab pod add --eni` beyond the node's instance type fails before any CNI call; `lab down` with
// a state dir that is a mount point empties it instead of failing with EBUSY.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { labDown, labUp, podAdd } from '../../src/lab/index.js';
import { PodnetError, run } from '../../src/lib/index.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'podnet-lab-input-'));
/** The state dir of the lab the ENI and mount-point tests share: a tmpfs mounted for it, as a user may do. */
const mountedStateDir = join(dir, 'mounted');

/** What a lab leaves behind: namespaces, links, netns mounts, processes carrying its state dir, the state dir's entries. */
async function leftovers(stateDir: string) {
  const netns = existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith('pn-')) : [];
  const links = (JSON.parse((await run(['ip', '-j', 'link', 'show'])).stdout) as Array<{ ifname: string }>).map((l) => l.ifname).filter((n) => n.startsWith('pn'));
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes('/run/netns/pn-'));
  const processes = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/environ`, 'latin1').split('\0').includes(`PODNET_LAB_STATE_DIR=${stateDir}`);
    } catch {
      return false;
    }
  });
  return { netns, links, mounts, processes, state: existsSync(stateDir) ? readdirSync(stateDir) : null };
}

/** Namespace teardown finishes asynchronously: poll briefly until the processes are gone. */
async function settledLeftovers(stateDir: string) {
  let found = await leftovers(stateDir);
  for (let i = 0; i < 30 && found.processes.length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    found = await leftovers(stateDir);
  }
  return found;
}

const isMountPoint = (path: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === path);

after(async () => {
  await labDown({ stateDir: mountedStateDir }).catch(() => undefined);
  if (isMountPoint(mountedStateDir)) await run(['umount', mountedStateDir]);
  rmSync(dir, { recursive: true, force: true });
});

test('lab up with a scenario EC2 refuses fails naming the refusal and leaves no namespace, link, mount, process or state', { timeout: 120_000 }, async (t) => {
  const stateDir = join(dir, 'refused');
  t.after(() => labDown({ stateDir }).then(() => undefined)); // whatever the outcome, the next lab starts clean
  const err = await labUp({ scenarioPath: fixture('refused-lab.yaml'), stateDir, runtime: 'cni' }).then(
    () => assert.fail('lab up accepted a scenario EC2 refuses'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof PodnetError, String(err));
  assert.match(err.message, /InvalidSubnet\.Range/);
  assert.match(err.hint ?? '', /lab up removed what it had built/);
  assert.deepEqual(await settledLeftovers(stateDir), { netns: [], links: [], mounts: [], processes: [], state: null });
});

describe('a lab whose state dir is a mount point', () => {
  before(async () => {
    mkdirSync(mountedStateDir);
    await run(['mount', '-t', 'tmpfs', 'podnet-lab-state', mountedStateDir]);
    await labUp({ scenarioPath: fixture('one-node-lab.yaml'), stateDir: mountedStateDir, runtime: 'cni' });
  });

  test('lab pod add --eni 5 on a t3.small fails at once naming the ENIs the type has, and creates nothing', { timeout: 20_000 }, async () => {
    // processes are left out: the lab's kubelets start short-lived ones of their own (ipamd's readiness probe)
    const withoutProcesses = async () => {
      const { processes: _running, ...rest } = await leftovers(mountedStateDir);
      return rest;
    };
    const before = await withoutProcesses();
    await assert.rejects(podAdd({ stateDir: mountedStateDir, node: 'node-a', name: 'far', eni: 5 }), (err: unknown) => {
      assert.ok(err instanceof PodnetError, String(err));
      assert.equal(err.exitStatus, 2);
      assert.match(err.message, /--eni 5: t3\.small has ENIs 0\.\.2, not 5/);
      return true;
    });
    assert.deepEqual(await withoutProcesses(), before);
  });

  test('lab down empties the state dir and leaves the mount', { timeout: 60_000 }, async () => {
    const report = await labDown({ stateDir: mountedStateDir });
    assert.ok(report.namespaces > 0 && report.processes > 0, 'a lab was up');
    assert.deepEqual(await settledLeftovers(mountedStateDir), { netns: [], links: [], mounts: [], processes: [], state: [] });
    assert.ok(isMountPoint(mountedStateDir), "the mount stays: it is not podnet's to remove");
  });
});
