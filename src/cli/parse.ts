import { InvalidArgumentError, Option } from 'commander';
import { parseListenAddress, type TcpListenAddress } from '../lib/index.js';
import { cidrContains, isAddressText, parseAddress, parseCidr } from '../net/index.js';

/** commander argument parser for counts: a non-negative integer, or a usage error naming the bad value. */
export function nonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected a whole number ≥ 0, got '${value}'`);
  return Number(value);
}

export function positiveInt(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) throw new InvalidArgumentError(`expected a whole number ≥ 1, got '${value}'`);
  return Number(value);
}

/** `--os linux|windows`, the node's OS, for the commands whose answer differs on Windows nodes. */
export function osOption(description: string): Option {
  // the default is described as a user types it; commander would quote it as JSON
  return new Option('--os <os>', description).choices(['linux', 'windows']).default('linux', 'linux');
}

/**
 * commander argument parser for an HTTP server's address (`ec2 serve`, `k8s serve`): a listen address through src/lib's
 * one parser that is not a unix socket; the usage message shows `example` (the command's default).
 */
export function tcpListenAddress(example: string): (value: string) => TcpListenAddress {
  const port = example.slice(example.lastIndexOf(':') + 1);
  return (value) => {
    const at = parseListenAddress(value.trim());
    if (at === undefined || 'path' in at) throw new InvalidArgumentError(`expected HOST:PORT (e.g. ${example} or [::1]:${port}), got '${value}'`);
    return at;
  };
}

const loopbackNetworks = [parseCidr('127.0.0.0/8'), parseCidr('::1/128')];

/** Whether a listen host is loopback: the servers podnet runs for tests and the lab listen there unless told otherwise. */
export const isLoopbackHost = (host: string): boolean => host === 'localhost' || (isAddressText(host) && loopbackNetworks.some((n) => cidrContains(n, parseAddress(host))));
