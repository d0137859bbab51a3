// A small CRI client for the e2e tier (crictl is not packaged in Debian 12; lab-recipes §5.8): the RuntimeService
// calls of runtime-v1.proto over containerd's unix socket, with typed requests and answers.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface PortMapping {
  protocol: 'TCP' | 'UDP' | 'SCTP';
  containerPort: number;
  hostPort: number;
  hostIp?: string;
}

export interface PodSandboxConfig {
  metadata: { name: string; uid: string; namespace: string; attempt?: number };
  hostname?: string;
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

export interface CriClient {
  version(): Promise<VersionResponse>;
  /** CNI ADD happens here; resolves with the sandbox id. */
  runPodSandbox(config: PodSandboxConfig): Promise<string>;
  podSandboxStatus(podSandboxId: string): Promise<PodSandboxStatus>;
  /** CNI DEL #1 (with the netns and the cached result). */
  stopPodSandbox(podSandboxId: string): Promise<void>;
  /** CNI DEL #2 (no netns, no cached result). */
  removePodSandbox(podSandboxId: string): Promise<void>;
  close(): void;
}

const protoPath = fileURLToPath(new URL('./runtime-v1.proto', import.meta.url));

type Unary = (request: object, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, answer: unknown) => void) => void;

/** Connects to a CRI runtime listening on a unix socket; every call has a deadline of `timeoutMs`. */
export function connectCri(socketPath: string, timeoutMs = 30_000): CriClient {
  // keepCase false: fields are camelCase; int64 as string, enums by name, absent fields as their defaults
  const definition = protoLoader.loadSync(protoPath, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
  const runtimeV1 = (grpc.loadPackageDefinition(definition).runtime as grpc.GrpcObject).v1 as grpc.GrpcObject;
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
    stopPodSandbox: async (podSandboxId) => {
      await call('StopPodSandbox', { podSandboxId });
    },
    removePodSandbox: async (podSandboxId) => {
      await call('RemovePodSandbox', { podSandboxId });
    },
    close: () => client.close(),
  };
}
