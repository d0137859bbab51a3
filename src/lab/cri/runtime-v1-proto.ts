// The part of the Kubernetes CRI (package runtime.v1, RuntimeService) that the lab and the e2e tier drive: a pod
// sandbox's lifecycle, which is where a runtime calls CNI ADD and DEL. Field numbers are the CRI API's; fields podnet
// does not use are left out (proto3 skips unknown fields, so containerd's fuller answers still decode).
// Kept as a string so the compiled package needs no copied data file; client.ts hands it to proto-loader.
export const runtimeV1Proto = `
syntax = "proto3";

package runtime.v1;

service RuntimeService {
  rpc Version(VersionRequest) returns (VersionResponse) {}
  rpc RunPodSandbox(RunPodSandboxRequest) returns (RunPodSandboxResponse) {}
  rpc StopPodSandbox(StopPodSandboxRequest) returns (StopPodSandboxResponse) {}
  rpc RemovePodSandbox(RemovePodSandboxRequest) returns (RemovePodSandboxResponse) {}
  rpc PodSandboxStatus(PodSandboxStatusRequest) returns (PodSandboxStatusResponse) {}
}

message VersionRequest {
  string version = 1;
}

message VersionResponse {
  string version = 1;
  string runtime_name = 2;
  string runtime_version = 3;
  string runtime_api_version = 4;
}

enum Protocol {
  TCP = 0;
  UDP = 1;
  SCTP = 2;
}

// A hostPort: the runtime hands these to CNI plugins with the portMappings capability (portmap).
message PortMapping {
  Protocol protocol = 1;
  int32 container_port = 2;
  int32 host_port = 3;
  string host_ip = 4;
}

// name, uid and namespace become K8S_POD_NAME, K8S_POD_UID and K8S_POD_NAMESPACE in CNI_ARGS.
message PodSandboxMetadata {
  string name = 1;
  string uid = 2;
  string namespace = 3;
  uint32 attempt = 4;
}

message LinuxPodSandboxConfig {
  string cgroup_parent = 1;
}

// the pod's resolv.conf, which the runtime writes into the sandbox
message DNSConfig {
  repeated string servers = 1;
  repeated string searches = 2;
  repeated string options = 3;
}

message PodSandboxConfig {
  PodSandboxMetadata metadata = 1;
  string hostname = 2;
  DNSConfig dns_config = 4;
  repeated PortMapping port_mappings = 5;
  LinuxPodSandboxConfig linux = 8;
}

message RunPodSandboxRequest {
  PodSandboxConfig config = 1;
  string runtime_handler = 2;
}

message RunPodSandboxResponse {
  string pod_sandbox_id = 1;
}

message StopPodSandboxRequest {
  string pod_sandbox_id = 1;
}

message StopPodSandboxResponse {}

message RemovePodSandboxRequest {
  string pod_sandbox_id = 1;
}

message RemovePodSandboxResponse {}

message PodSandboxStatusRequest {
  string pod_sandbox_id = 1;
  bool verbose = 2;
}

enum PodSandboxState {
  SANDBOX_READY = 0;
  SANDBOX_NOTREADY = 1;
}

message PodIP {
  string ip = 1;
}

// ip is the pod address the last plugin of the CNI chain reported.
message PodSandboxNetworkStatus {
  string ip = 1;
  repeated PodIP additional_ips = 2;
}

message PodSandboxStatus {
  string id = 1;
  PodSandboxMetadata metadata = 2;
  PodSandboxState state = 3;
  int64 created_at = 4;
  PodSandboxNetworkStatus network = 5;
}

// verbose = true fills info: containerd puts the sandbox's pid, netns path and runtime spec in info["info"] as JSON.
message PodSandboxStatusResponse {
  PodSandboxStatus status = 1;
  map<string, string> info = 2;
}
`;
