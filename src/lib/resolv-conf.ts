/**
 * A process-wide resolver switch: after `useResolvConf(path)` every hostname lookup of this process — node:dns's
 * `lookup`, which net, tls, http and https call when they connect, and so the Kubernetes client and the AWS SDK —
 * asks the nameservers of that file, never the host's resolver (getaddrinfo, /etc/resolv.conf, /etc/hosts, nsswitch).
 * The lab gives each node a resolv.conf naming its VPC's DNS (base + 2), and its processes through
 * PODNET_RESOLV_CONF, as EC2's DHCP options give an instance AmazonProvidedDNS.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';
import type { LookupAddress, LookupAllOptions, LookupOneOptions, LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import { PodnetError } from './errors.js';
import { readUserFile } from './files.js';

export interface ResolvConf {
  /** servers as node:dns's setServers takes them: `10.0.0.2`, `[fd00::2]:53`, `127.0.0.1:5353` */
  nameservers: string[];
  search: string[];
  ndots: number;
  timeoutMs: number;
  attempts: number;
}

/** glibc's defaults (resolv.conf(5)) */
const DEFAULTS = { ndots: 1, timeoutSeconds: 5, attempts: 2 };

/**
 * Reads resolv.conf's syntax (resolv.conf(5)): `nameserver`, `search`, `domain` (the last of search/domain wins),
 * `options ndots:N timeout:N attempts:N`; `#` and `;` start comments; other keywords and options are ignored, as
 * glibc ignores what it does not know. A nameserver is an IP address; podnet also takes `ADDRESS:PORT` or
 * `[V6]:PORT` (a resolver on another port than 53, which glibc cannot name). `where` names the file in errors.
 */
export function parseResolvConf(text: string, where: string): ResolvConf {
  const conf: ResolvConf = { nameservers: [], search: [], ndots: DEFAULTS.ndots, timeoutMs: DEFAULTS.timeoutSeconds * 1000, attempts: DEFAULTS.attempts };
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const [keyword, ...args] = raw.replace(/[#;].*$/, '').trim().split(/\s+/);
    if (!keyword) return;
    const at = `${where} line ${index + 1}`;
    if (keyword === 'nameserver') {
      const server = nameserverOf(args[0] ?? '');
      if (server === undefined || args.length !== 1) {
        throw new PodnetError('CONFIG_INVALID', `${at}: nameserver ${JSON.stringify(args.join(' '))} is not an IP address`, 'write one address per nameserver line, e.g. "nameserver 10.0.0.2" (podnet also reads ADDRESS:PORT)');
      }
      conf.nameservers.push(server);
    } else if (keyword === 'search' || keyword === 'domain') {
      conf.search = args.map((d) => d.replace(/\.$/, '')).filter((d) => d !== '');
    } else if (keyword === 'options') {
      for (const option of args) {
        const m = /^(ndots|timeout|attempts):(\d+)$/.exec(option);
        if (!m) continue;
        const n = Number(m[2]);
        // glibc caps these the same way
        if (m[1] === 'ndots') conf.ndots = Math.min(n, 15);
        else if (m[1] === 'timeout') conf.timeoutMs = Math.min(Math.max(n, 1), 30) * 1000;
        else conf.attempts = Math.min(Math.max(n, 1), 5);
      }
    }
  });
  if (conf.nameservers.length === 0) {
    throw new PodnetError('CONFIG_INVALID', `${where} names no nameserver`, 'add a line "nameserver <address>" (in the lab: the VPC base + 2, e.g. 10.0.0.2); podnet never falls back to the host\'s resolver');
  }
  return conf;
}

function nameserverOf(text: string): string | undefined {
  if (isIP(text)) return text;
  const m = /^(?:\[([^\]]+)\]|([^:\]]+)):(\d{1,5})$/.exec(text);
  if (!m || Number(m[3]) < 1 || Number(m[3]) > 65535) return undefined;
  const host = m[1] ?? m[2]!;
  if (m[1] !== undefined ? isIP(host) !== 6 : isIP(host) !== 4) return undefined;
  return text;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address?: string | LookupAddress[] | null, family?: number) => void;

// the CommonJS module object: net, tls and http read `lookup` from it when they connect, so replacing the property
// there is what reaches them (an ES namespace import is a frozen copy)
const require = createRequire(import.meta.url);
const dnsModule = require('node:dns') as typeof import('node:dns') & { lookup: unknown };
const originalLookup = dnsModule.lookup;
const originalPromisesLookup = dnsModule.promises.lookup;
const originalServers = { callback: dnsModule.getServers(), promises: dnsModule.promises.getServers() };

/** getaddrinfo's errors, as node:dns's lookup reports them (libuv's numbers on Linux). */
function lookupError(code: 'ENOTFOUND' | 'EAI_AGAIN', hostname: string, cause?: unknown): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException & { hostname?: string } = new Error(`getaddrinfo ${code} ${hostname}`, { cause });
  err.code = code;
  err.errno = code === 'ENOTFOUND' ? -3008 : -3001;
  err.syscall = 'getaddrinfo';
  err.hostname = hostname;
  return err;
}

function familyOf(options: unknown): 0 | 4 | 6 {
  const family = typeof options === 'number' ? options : (options as LookupOptions | undefined)?.family;
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return 0;
}

/** The names tried for `hostname`, in order (resolv.conf(5)'s search and ndots rules). */
export function searchCandidates(hostname: string, conf: Pick<ResolvConf, 'search' | 'ndots'>): string[] {
  if (hostname.endsWith('.')) return [hostname.slice(0, -1)];
  const searched = conf.search.map((domain) => `${hostname}.${domain}`);
  const dots = hostname.split('.').length - 1;
  return dots >= conf.ndots ? [hostname, ...searched] : [...searched, hostname];
}

/** A `lookup` with node:dns's signature that asks `conf`'s nameservers. */
export function resolvConfLookup(conf: ResolvConf): typeof import('node:dns').lookup {
  const { Resolver } = dnsModule.promises;
  const resolver = new Resolver({ timeout: conf.timeoutMs, tries: conf.attempts });
  resolver.setServers(conf.nameservers);

  /** One name's addresses of one family; [] when it has none; throws EAI_AGAIN when no server answered. */
  async function query(name: string, family: 4 | 6): Promise<string[]> {
    try {
      return family === 4 ? await resolver.resolve4(name) : await resolver.resolve6(name);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTFOUND' || code === 'ENODATA' || code === 'EBADNAME' || code === 'ENONAME') return [];
      throw err;
    }
  }

  async function resolveAll(hostname: string, family: 0 | 4 | 6, all: boolean, ipv6First: boolean): Promise<LookupAddress[]> {
    const literal = isIP(hostname);
    if (literal) return [{ address: hostname, family: literal }];
    // localhost is the host itself, never a question for the network (RFC 6761)
    if (hostname.toLowerCase() === 'localhost' || hostname.toLowerCase() === 'localhost.') {
      const loopback: LookupAddress[] = [
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
      ];
      return loopback.filter((a) => family === 0 || a.family === family);
    }
    const families: Array<4 | 6> = family === 4 ? [4] : family === 6 ? [6] : ipv6First ? [6, 4] : [4, 6];
    for (const name of searchCandidates(hostname, conf)) {
      let found: LookupAddress[] = [];
      if (all) {
        const answers = await Promise.all(families.map((f) => query(name, f)));
        found = answers.flatMap((addresses, i) => addresses.map((address) => ({ address, family: families[i]! })));
      } else {
        for (const f of families) {
          found = (await query(name, f)).map((address) => ({ address, family: f }));
          if (found.length > 0) break;
        }
      }
      if (found.length > 0) return found;
    }
    return [];
  }

  function lookup(hostname: string, optionsOrCallback: unknown, maybeCallback?: LookupCallback): void {
    const callback = (typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback) as LookupCallback;
    const options = typeof optionsOrCallback === 'function' ? undefined : optionsOrCallback;
    if (typeof callback !== 'function') throw new TypeError('lookup: the "callback" argument must be a function');
    const family = familyOf(options);
    const all = typeof options === 'object' && options !== null && (options as LookupOptions).all === true;
    const order = typeof options === 'object' && options !== null ? (options as LookupOptions & { order?: string }).order : undefined;
    const ipv6First = order === 'ipv6first';
    // node's lookup answers an empty name with no address rather than an error
    if (!hostname) {
      process.nextTick(() => (all ? callback(null, []) : callback(null, null, family === 6 ? 6 : 4)));
      return;
    }
    resolveAll(hostname, family, all, ipv6First).then(
      (addresses) => {
        if (addresses.length === 0) return callback(lookupError('ENOTFOUND', hostname));
        if (all) return callback(null, addresses);
        callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: unknown) => callback(lookupError('EAI_AGAIN', hostname, err)),
    );
  }
  // util.promisify(dns.lookup) and dns.promises.lookup give { address, family } (or the array with all)
  const promised = (hostname: string, options?: LookupOneOptions | LookupAllOptions | number) =>
    new Promise((resolve, reject) => {
      lookup(hostname, options ?? {}, (err, address, family) => {
        if (err) reject(err);
        else resolve(Array.isArray(address) ? address : { address, family });
      });
    });
  Object.defineProperty(lookup, promisify.custom, { value: promised });
  return lookup as unknown as typeof import('node:dns').lookup;
}

/**
 * Makes every hostname lookup of this process go to the nameservers of the resolv.conf at `path` (see the file's
 * comment). Throws PodnetError when the file cannot be read or names no usable nameserver; nothing is replaced then.
 * Calling it again replaces the previous switch.
 */
export function useResolvConf(path: string): void {
  const conf = parseResolvConf(readUserFile(path, 'PODNET_RESOLV_CONF file', 'point PODNET_RESOLV_CONF at a readable resolv.conf, or unset it to use the host\'s resolver'), `PODNET_RESOLV_CONF file ${path}`);
  const lookup = resolvConfLookup(conf);
  dnsModule.lookup = lookup;
  // dns.promises.lookup (and node:dns/promises, the same object) for callers that use the promise form
  dnsModule.promises.lookup = (lookup as unknown as Record<symbol, typeof dnsModule.promises.lookup>)[promisify.custom]!;
  // dns.resolve*() (c-ares, which read the host's /etc/resolv.conf at start) ask the same servers
  dnsModule.setServers(conf.nameservers);
  dnsModule.promises.setServers(conf.nameservers);
  // `import { lookup } from 'node:dns'` is a live binding node updates only when asked: a module that imported it
  // before the switch would still reach getaddrinfo
  syncBuiltinESMExports();
}

/** Puts node:dns's own lookup and servers back (tests). */
export function restoreHostLookup(): void {
  dnsModule.lookup = originalLookup;
  dnsModule.promises.lookup = originalPromisesLookup;
  dnsModule.setServers(originalServers.callback);
  dnsModule.promises.setServers(originalServers.promises);
  syncBuiltinESMExports();
}
