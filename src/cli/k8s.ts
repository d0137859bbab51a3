import { Command, Option } from 'commander';
import { PodnetError, checkCreatablePath, usageError, type TcpListenAddress } from '../lib/index.js';
import { formatTable } from './output.js';
import { stopSignal } from './signals.js';
import { isLoopbackHost, positiveInt, tcpListenAddress } from './parse.js';

const DEFAULT_LISTEN = '127.0.0.1:6443';

const listenAddress = tcpListenAddress(DEFAULT_LISTEN);

interface ServeOptions {
  listen: TcpListenAddress;
  db?: string;
  kubeconfig?: string;
  serverName?: string[];
  watchHistory?: number;
  allowNonLoopback?: boolean;
  json?: boolean;
}

async function serve(opts: ServeOptions): Promise<void> {
  if (!isLoopbackHost(opts.listen.host) && !opts.allowNonLoopback) {
    throw usageError(`--listen ${opts.listen.host} is not a loopback address`, 'the API server listens on loopback by default; add --allow-non-loopback to bind elsewhere (e.g. inside a lab namespace)');
  }
  // SQLite creates the file, never its directory: a path under a missing directory is a usage error, said at once
  if (opts.db) checkCreatablePath(opts.db, '--db', 'file');
  if (opts.kubeconfig) checkCreatablePath(opts.kubeconfig, '--kubeconfig', 'file');
  const { startKubeApiServer } = await import('../k8s-api/index.js');
  const server = await startKubeApiServer({
    listen: opts.listen,
    dbPath: opts.db ?? ':memory:',
    kubeconfigPath: opts.kubeconfig,
    serverNames: opts.serverName,
    watchHistory: opts.watchHistory,
  }).catch((err: unknown) => {
    // SQLite refusing the file (not a database, no permission) is about the file the user named, not a bug
    if (!String((err as { code?: unknown }).code).startsWith('SQLITE_')) throw err;
    throw new PodnetError('FAILED', `cannot use --db ${opts.db}: ${(err as Error).message}`, 'give --db a new file, or one an earlier podnet k8s serve --db wrote', { cause: err });
  });

  const stopped = stopSignal();

  const db = opts.db ?? ':memory:';
  if (opts.json) {
    process.stdout.write(JSON.stringify({ url: server.url, db, kubeconfig: opts.kubeconfig ?? null, caPem: server.caPem }) + '\n');
  } else {
    let out = `podnet Kubernetes API server (db ${db})\n`;
    out += formatTable(['endpoint', 'url'], [['API', server.url]]);
    out += opts.kubeconfig
      ? `\npoint kubectl at it:\n  export KUBECONFIG=${opts.kubeconfig}\n  kubectl get namespaces\n`
      : '\n(no --kubeconfig: give one to get an admin kubeconfig with the CA and a token)\n';
    process.stdout.write(out);
  }
  await stopped;
  await server.close();
  if (!opts.json) process.stdout.write('podnet Kubernetes API server stopped\n');
}

export function registerK8s(program: Command): void {
  const k8s = program.command('k8s').description("the lab's Kubernetes API server");
  k8s
    .command('serve')
    .description('run the Kubernetes API server (HTTPS, its own CA) in the foreground until SIGINT/SIGTERM')
    .addOption(new Option('--listen <host:port>', 'HTTPS address').argParser(listenAddress).default(listenAddress(DEFAULT_LISTEN), DEFAULT_LISTEN))
    .option('--db <file>', 'SQLite file that keeps the objects, CA and tokens across restarts (default: in memory)')
    .option('--kubeconfig <file>', 'write an admin kubeconfig (server URL, CA, token) here once listening')
    .option('--server-name <name...>', 'more DNS names or addresses the serving certificate covers')
    .option('--watch-history <n>', 'how many writes a watch can resume from before 410 Gone (default 10000)', positiveInt)
    .option('--allow-non-loopback', 'allow listening on addresses other than loopback')
    .option('--json', 'print the endpoint as one JSON line')
    .action(async (opts: ServeOptions) => serve(opts));
}
