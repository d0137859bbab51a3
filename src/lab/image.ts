/**
 * podnet's OCI image: the name the DaemonSet in deploy/ runs (the lab's kubelet recognises it and runs its
 * containers as podnet processes) and its offline builder. Nothing is pulled: the image is this host's `node` and the
 * tools ipamd and `podnet init` run (ip, nft, iptables, sysctl, nc, …), each with the shared libraries ldd finds,
 * beside the built app (dist/, bin/, the production node_modules) — one layer in a docker-archive that
 * `ctr -n k8s.io image import` takes, entrypoint `podnet`.
 */
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PodnetError, run } from '../lib/index.js';

/** The image deploy/ names; its tag is package.json's version (a unit test keeps them equal). */
export const PODNET_IMAGE = 'localhost/podnet:0.1.0';

/** Whether an image reference names podnet's repository, at any tag or digest (a DaemonSet moved to another version still runs podnet). */
export function isPodnetImage(image: string | undefined): boolean {
  const repository = (ref: string) => ref.replace(/(:[^/:]+)?(@.*)?$/, '');
  return image !== undefined && repository(image) === repository(PODNET_IMAGE);
}

/** src/lab/ and dist/lab/ are both two levels below the package. */
const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Tools ipamd, the dataplane and `podnet init` run (chroot: init checks the host's nc under --host-root), and the
 * shell the DaemonSet's probes use.
 */
export const IMAGE_TOOLS = [
  'sh', 'cat', 'timeout', 'nc', 'chroot', 'ip', 'nft', 'sysctl', 'nsenter', 'conntrack',
  'iptables', 'iptables-save', 'iptables-restore', 'ip6tables', 'ip6tables-save', 'ip6tables-restore',
] as const;

/** The CNI plugins `podnet init` copies onto the host (loopback, and those the conflist may chain). */
const CNI_PLUGINS_DIR = '/usr/lib/cni';
const CNI_PLUGINS = ['loopback', 'portmap', 'bandwidth', 'tuning'];
/** iptables loads its match and target extensions from here at run time. */
const XTABLES_DIR = '/usr/lib/x86_64-linux-gnu/xtables';
/** Debian's merged /usr: the top-level directories are links into /usr, so paths ldd prints resolve either way. */
const MERGED_USR = ['bin', 'sbin', 'lib', 'lib64'];
const TOOL_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export type ImageProgress = (step: string) => void;

/** The shared libraries ldd lists for a binary: absolute paths (the loader included), not the vDSO. */
export function parseLdd(text: string): string[] {
  const paths: string[] = [];
  for (const line of text.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(0x/.exec(line);
    if (m) paths.push(m[1]!);
  }
  return paths;
}

/** The image's config (docker-archive's config.json, the OCI image config): podnet as the entrypoint. */
export function imageConfig(diffId: string, arch: string): Record<string, unknown> {
  return {
    architecture: arch,
    os: 'linux',
    config: {
      Env: [`PATH=${TOOL_DIRS.join(':')}`],
      Entrypoint: ['podnet'],
      Cmd: ['--help'],
      WorkingDir: '/',
      Labels: { 'org.opencontainers.image.title': 'podnet', 'org.opencontainers.image.version': PODNET_IMAGE.split(':')[1]! },
    },
    rootfs: { type: 'layers', diff_ids: [diffId] },
  };
}

/** `/usr/bin/x` for `/bin/x` and the like: where a path lands under merged /usr. */
function mergedPath(path: string): string {
  const top = path.split('/')[1]!;
  return MERGED_USR.includes(top) ? `/usr${path}` : path;
}

/** Copies host files into a root file system, keeping each link name as a link to the file it resolves to. */
class RootFs {
  private readonly placed = new Set<string>();
  constructor(readonly dir: string) {}

  /** Places `path` (and, when it is a link, its target) at the same path inside; returns the real file's path. */
  add(path: string): string {
    const real = realpathSync(path);
    this.copy(real, mergedPath(real));
    const at = mergedPath(path);
    if (at !== mergedPath(real) && !this.placed.has(at)) {
      this.placed.add(at);
      mkdirSync(dirname(join(this.dir, at)), { recursive: true });
      symlinkSync(relative(dirname(at), mergedPath(real)), join(this.dir, at));
    }
    return real;
  }

  private copy(source: string, at: string): void {
    if (this.placed.has(at)) return;
    this.placed.add(at);
    mkdirSync(dirname(join(this.dir, at)), { recursive: true });
    copyFileSync(source, join(this.dir, at));
  }

  write(at: string, text: string, mode = 0o644): void {
    this.placed.add(at);
    mkdirSync(dirname(join(this.dir, at)), { recursive: true });
    writeFileSync(join(this.dir, at), text, { mode });
  }
}

function findTool(name: string): string | undefined {
  return TOOL_DIRS.map((d) => join(d, name)).find((p) => existsSync(p));
}

/**
 * The libraries the files load (ldd resolves them transitively). ldd fails for a static binary, and for all when one
 * of several is static, yet prints what it found for the others: its output is read either way.
 */
async function librariesOf(paths: readonly string[]): Promise<string[]> {
  const { stdout } = await run(['ldd', ...paths]).catch((err: unknown) => ({ stdout: (err as { stdout?: string }).stdout ?? '' }));
  return parseLdd(stdout);
}

/** Adds binaries and every library they load (one ldd for all: a process start each costs seconds on a busy host). */
async function addWithLibraries(root: RootFs, paths: readonly string[]): Promise<void> {
  const reals = paths.map((p) => root.add(p));
  for (const lib of await librariesOf(reals)) root.add(lib);
}

/** The production packages' directories, as npm sees the installed tree (offline: it reads node_modules). */
async function productionPackages(): Promise<string[]> {
  const { stdout } = await run(['npm', 'ls', '--prefix', packageRoot, '--omit=dev', '--all', '--parseable'], { timeoutMs: 60_000 }).catch((err: unknown) => {
    // npm ls exits 1 on a peer-dependency complaint yet prints the tree; only no output is a failure
    const out = (err as { stdout?: string }).stdout;
    if (out) return { stdout: out };
    throw new PodnetError('FAILED', `npm ls could not list podnet's production packages: ${(err as Error).message}`, 'run npm ci in the podnet checkout first', { cause: err });
  });
  return stdout.split('\n').filter((p) => p.startsWith(join(packageRoot, 'node_modules')));
}

/** Type declarations and source maps are not needed to run. */
const runtimeFile = (source: string) => !/\.(d\.[cm]?ts|map)$/.test(source);

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function filesUnder(dir: string, match: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path, match));
    else if (entry.isFile() && match(entry.name)) out.push(path);
  }
  return out;
}

/**
 * Builds podnet's image as a docker-archive at `outFile` (tagged PODNET_IMAGE) from what this host has: needs the
 * build (dist/), the installed node_modules, and the tools above. Returns outFile.
 */
export async function buildPodnetImage(outFile: string, progress: ImageProgress = () => {}): Promise<string> {
  if (!existsSync(join(packageRoot, 'dist', 'cli', 'main.js'))) {
    throw new PodnetError('FAILED', `the image needs the build, and ${join(packageRoot, 'dist')} has no cli/main.js`, 'run `npm run build` first (`npm run image` does)');
  }
  const missing = IMAGE_TOOLS.filter((t) => !findTool(t));
  if (missing.length > 0) {
    throw new PodnetError('MISSING_TOOL', `the image needs ${missing.join(', ')}, not found in ${TOOL_DIRS.join(':')}`, 'apt-get install -y iproute2 iptables nftables conntrack util-linux coreutils netcat-openbsd procps');
  }
  const work = mkdtempSync(join(tmpdir(), 'podnet-image-'));
  try {
    const root = new RootFs(join(work, 'rootfs'));
    for (const d of ['usr/bin', 'usr/sbin', 'usr/lib', 'usr/lib64', 'etc', 'proc', 'sys', 'dev', 'tmp', 'run', 'var', 'host']) mkdirSync(join(root.dir, d), { recursive: true });
    chmodSync(join(root.dir, 'tmp'), 0o1777);
    for (const d of MERGED_USR) symlinkSync(`usr/${d}`, join(root.dir, d));
    symlinkSync('../run', join(root.dir, 'var', 'run'));
    root.write('/etc/passwd', 'root:x:0:0:root:/:/bin/sh\n');
    root.write('/etc/group', 'root:x:0:\n');

    progress(`node ${process.version}, ${IMAGE_TOOLS.join(', ')} and their libraries`);
    const extensions = existsSync(XTABLES_DIR) ? readdirSync(XTABLES_DIR).map((e) => join(XTABLES_DIR, e)) : [];
    await addWithLibraries(root, [process.execPath, ...IMAGE_TOOLS.map((t) => findTool(t)!), ...extensions]);
    const node = mergedPath(process.execPath);
    for (const plugin of CNI_PLUGINS) if (existsSync(join(CNI_PLUGINS_DIR, plugin))) root.add(join(CNI_PLUGINS_DIR, plugin));

    progress('the app: package.json, bin/, dist/ and the production node_modules');
    const app = join(root.dir, 'app');
    for (const part of ['package.json', 'bin', 'dist']) cpSync(join(packageRoot, part), join(app, part), { recursive: true, filter: runtimeFile });
    for (const pkg of await productionPackages()) {
      cpSync(pkg, join(app, relative(packageRoot, pkg)), { recursive: true, filter: (source) => runtimeFile(source) && !source.slice(pkg.length).includes('/node_modules/') });
    }
    // native addons load shared libraries too
    const addons = filesUnder(join(app, 'node_modules'), (n) => n.endsWith('.node'));
    if (addons.length > 0) for (const lib of await librariesOf(addons)) root.add(lib);
    // `node --` so Node takes none of podnet's options as its own (see bin/podnet.js)
    root.write('/usr/local/bin/podnet', `#!/bin/sh\nexec ${node} -- /app/bin/podnet.js "$@"\n`, 0o755);

    progress('layer and archive');
    const layer = join(work, 'layer.tar');
    await run(['tar', '--numeric-owner', '--owner=0', '--group=0', '--sort=name', '--mtime=@0', '-C', root.dir, '-cf', layer, '.'], { timeoutMs: 300_000 });
    const diffId = `sha256:${await sha256File(layer)}`;
    const arch = process.arch === 'x64' ? 'amd64' : process.arch;
    writeFileSync(join(work, 'config.json'), JSON.stringify(imageConfig(diffId, arch)));
    writeFileSync(join(work, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: [PODNET_IMAGE], Layers: ['layer.tar'] }]));
    mkdirSync(dirname(outFile), { recursive: true });
    await run(['tar', '-C', work, '-cf', outFile, 'manifest.json', 'config.json', 'layer.tar'], { timeoutMs: 300_000 });
    progress(`${outFile}: ${PODNET_IMAGE}, ${(statSync(outFile).size / 1e6).toFixed(0)} MB`);
    return outFile;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
