import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type CniCall, type CniEnv, type CniHandler, createCniHandler, installCni, startCniSocketServer } from '../../../src/cni/index.js';
import type { MemoryNode } from './memory-backend.js';

/** The repository root and its launcher, as the runtime would find it before `podnet cni install`. */
export const root = fileURLToPath(new URL('../../../', import.meta.url));
export const repoLauncher = join(root, 'bin', 'podnet-cni');

export interface LauncherRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a launcher as a runtime would: cwd /, only PATH and the given variables, the config on stdin. */
export function runLauncher(file: string, env: CniEnv | Record<string, string>, stdin: string | Buffer, shell = '/bin/sh'): Promise<LauncherRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(shell, [file], { cwd: '/', env: { PATH: process.env.PATH, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => {}); // a launcher that exits before reading all of stdin
    child.stdin.end(stdin);
  });
}

/**
 * Installs the launcher into dir/name/bin as `podnet cni install` does, for socket, with a fallback that runs the
 * TypeScript source (the installed one runs dist/ with the same code) and the launcher's timeout (default 30 s).
 * Returns the launcher's path.
 */
export function installForTest(dir: string, name: string, socket: string, launcherTimeoutSeconds?: number): string {
  const entry = join(dir, 'fallback-entry.mjs');
  mkdirSync(join(dir, name), { recursive: true }); // install creates only the last component of --bin-dir/--conf-dir
  writeFileSync(entry, `import { runFallbackPluginProcess } from ${JSON.stringify(pathToFileURL(join(root, 'src/cni/index.ts')).href)};\nawait runFallbackPluginProcess();\n`);
  return installCni({
    binDir: join(dir, name, 'bin'),
    confDir: join(dir, name, 'net.d'),
    conflist: { vethPrefix: 'eni', mtu: 9001, podSGEnforcingMode: 'strict', pluginLogFile: '/var/log/aws-routed-eni/plugin.log', pluginLogLevel: 'DEBUG', bandwidth: false, ipamdSocket: socket },
    fallbackArgv: [process.execPath, '--import', import.meta.resolve('tsx'), entry],
    ...(launcherTimeoutSeconds !== undefined && { launcherTimeoutSeconds }),
  }).launcher;
}

/** A handler that records every call ipamd's socket hands it, before the real handler sees it. */
export function recording(handler: CniHandler): { handler: CniHandler; calls: CniCall[] } {
  const calls: CniCall[] = [];
  return { calls, handler: (call) => (calls.push(call), handler(call)) };
}

/**
 * ipamd's CNI socket at dir/run/ipamd.sock serving node through the real handler (every call recorded), and a
 * launcher installed for it into dir/name. close() stops the server.
 */
export async function serveWithLauncher(dir: string, name: string, node: MemoryNode): Promise<{ socket: string; launcher: string; calls: CniCall[]; close: () => Promise<void> }> {
  const socket = join(dir, 'run', 'ipamd.sock');
  const { handler, calls } = recording(createCniHandler(node));
  const server = await startCniSocketServer(socket, handler, { status: () => node.status() });
  return { socket, launcher: installForTest(dir, name, socket), calls, close: () => server.close() };
}
