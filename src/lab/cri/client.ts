// A small CRI client for the lab and the e2e tier (crictl is not packaged in Debian 12; lab-recipes §5.8): the
// RuntimeService calls of runtime-v1-proto.ts over containerd's unix socket, with typed requests and answers.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { runtimeV1Proto } from './runtime-v1-proto.js';

export interface PortMapping {
  protocol: 'TCP' | 'UDP' | 'SCTP';
  containerPort: number;
  hostPort: number;
  hostIp?: string;
}

export interface PodSandboxConfig {
  metadata: { name: string; uid: string; namespace: string; attempt?: number };
  hostname?: string;
  /** what containerd writes as the sandbox's resolv.conf */
  dnsConfig?: { servers: string[]; searches?: string[]; options?: string[] };
  portMappings?: PortMapping[];
  linux?: { cgroupParent?: string };
}

export interface VersionResponse {
  version: string;
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

export interface PodSandboxStatus {
  id: string;
  metadata: { name: string; uid: string; namespace: string; attempt: number };
  state: 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
  /** Nanoseconds since the epoch, as a decimal string (int64). */
  createdAt: string;
  network: { ip: string; additionalIps: { ip: string }[] } | null;
}

/** PodSandboxStatus with verbose = true: containerd's `info` JSON, of which podnet reads the sandbox's pid. */
export interface PodSandboxDetails {
  status: PodSandboxStatus;
  /** The pid of the sandbox's ("pause") process; its /proc/PID/ns/net is the pod's network namespace. */
  pid: number;
}

export interface CriClient {
  version(): Promise<VersionResponse>;
  /** CNI ADD happens here; resolves with the sandbox id. */
  runPodSandbox(config: PodSandboxConfig): Promise<string>;
  podSandboxStatus(podSandboxId: string): Promise<PodSandboxStatus>;
  podSandboxDetails(podSandboxId: string): Promise<PodSandboxDetails>;
  /** CNI DEL #1 (with the netns and the cached result). */
  stopPodSandbox(podSandboxId: string): Promise<void>;
  /** CNI DEL #2 (no netns, no cached result). */
  removePodSandbox(podSandboxId: string): Promise<void>;
  close(): void;
}

let definition: protoLoader.PackageDefinition | undefined;

/** proto-loader reads .proto files only, so the embedded text is parsed once per process from a temp file. */
function loadDefinition(): protoLoader.PackageDefinition {
  if (definition) return definition;
  const dir = mkdtempSync(join(tmpdir(), 'podnet-cri-'));
  try {
    const file = join(dir, 'runtime-v1.proto');
    writeFileSync(file, runtimeV1Proto);
    // keepCase false: fields are camelCase; int64 as string, enums by name, absent fields as their defaults
    definition = protoLoader.loadSync(file, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
    return definition;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type Unary = (request: object, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, answer: unknown) => void) => void;

/** Connects to a CRI runtime listening on a unix socket; every call has a deadline of `timeoutMs`. */
export function connectCri(socketPath: string, timeoutMs = 30_000): CriClient {
  const runtimeV1 = (grpc.loadPackageDefinition(loadDefinition()).runtime as grpc.GrpcObject).v1 as grpc.GrpcObject;
  const Service = runtimeV1.RuntimeService as grpc.ServiceClientConstructor;
  const client = new Service(`unix://${socketPath}`, grpc.credentials.createInsecure());

  const call = <T>(method: string, request: object): Promise<T> =>
    new Promise((resolve, reject) => {
      const fn = (client[method] as Unary).bind(client);
      fn(request, { deadline: Date.now() + timeoutMs }, (err, answer) => {
        if (err) reject(new Error(`CRI ${method} failed: ${err.details || err.message} (gRPC code ${err.code})`, { cause: err }));
        else resolve(answer as T);
      });
    });

  return {
    version: () => call<VersionResponse>('Version', { version: 'v1' }),
    runPodSandbox: async (config) => (await call<{ podSandboxId: string }>('RunPodSandbox', { config })).podSandboxId,
    podSandboxStatus: async (podSandboxId) =>
      (await call<{ status: PodSandboxStatus }>('PodSandboxStatus', { podSandboxId, verbose: false })).status,
    podSandboxDetails: async (podSandboxId) => {
      const answer = await call<{ status: PodSandboxStatus; info: Record<string, string> }>('PodSandboxStatus', { podSandboxId, verbose: true });
      const pid = Number((JSON.parse(answer.info.info ?? '{}') as { pid?: unknown }).pid);
      if (!Number.isInteger(pid) || pid <= 0) throw new Error(`CRI PodSandboxStatus of ${podSandboxId} names no sandbox pid in its verbose info`);
      return { status: answer.status, pid };
    },
    stopPodSandbox: async (podSandboxId) => {
      await call('StopPodSandbox', { podSandboxId });
    },
    removePodSandbox: async (podSandboxId) => {
      await call('RemovePodSandbox', { podSandboxId });
    },
    close: () => client.close(),
  };
}
