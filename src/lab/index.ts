/**
 * The VPC lab: a whole EKS VPC in network namespaces with real packets — scenario file, fabric (VPC routers with
 * the source/destination check and per-subnet route tables, internet and NAT gateways, peering), nodes running
 * ipamd, pods created through the CNI, echo services, probes, and a sweep that removes it all.
 */
/** the branch link's name, for `lab status`'s rows (the CLI loads this module, not the dataplane's) */
export { vlanLinkName } from '../dataplane/index.js';
export { scenarioSchema, parseScenario, loadScenario, defaultScenarioPath, defaultEc2Endpoint, LAB_LINK_RANGE, TEST_NETS, PUBLIC_IP_POOL, type Scenario } from './scenario.js';
export { planFabric, renderFixedFabric, eniPortName, ns as labNamespaces, NS_PREFIX, LINK_PREFIX, IMDS_ADDRESS, type FabricPlan } from './plan.js';
export { renderFabric, renderSourceCheck, renderIgwNat, renderNatGateway, type DesiredFabric, type EniLink } from './render.js';
export { labUp, labDown, podAdd, podDel, checkPrerequisites, labNodeDefaults, type UpOptions, type DownReport, type PodAddOptions, type Progress } from './lab.js';
export { probe, probeExplainLine, labStatus, labStatusWithCluster, labKubeconfig, resolveEndpoint, nodeKubernetesStatus, type ProbeResult, type ProbeExplain, type ProbeOptions, type LabStatus, type NodeKubernetesStatus, type Proto, type Endpoint } from './probe.js';
export { nodeEndpointVerdicts, labNodeEndpointVerdicts, type NodeEndpointVerdict } from './endpoint-verdicts.js';
export { labWorld, labExplainSource, buildLabWorld, type NodeIptables } from './explain-world.js';
export { labEndpoints, type LabEndpoint } from './endpoints.js';
export { scenarioExplainSource, scenarioWorld } from './explain-offline.js';
export { DROP_REASON_SENTENCES, attributeDrop, explainDrop, parseInNoRoutes, parseNftCounters, readDropCounters, type DropCounter, type DropExplanation, type DropReason } from './drops.js';
export { runController } from './controller.js';
export { clusterUpdate, labEndpointStatus, type ClusterUpdateOptions, type ClusterUpdateResult, type EndpointStatus } from './eks-cluster-update.js';
export { runKubelet, startKubelet, type Kubelet, type KubeletOptions } from './kubelet.js';
export { runFargateKubelet, startFargateKubelet, type FargateKubelet, type FargateKubeletOptions } from './kubelet-fargate.js';
export { fargatePodAdd, type FargatePodOptions } from './fargate-pods.js';
export { fargateRecords } from './fargate-nodes.js';
export { COMPUTE_TYPE_LABEL, FARGATE_SCHEDULER, fargateNodeName, type FargateRecord } from './fargate.js';
export { runControlPlane, type ControlPlaneRunOptions } from './control-plane-run.js';
export { startControlPlane, type ControlPlane, type ControlPlaneOptions } from './control-plane.js';
export { DEFAULT_STATE_DIR, LabState, isLabProcess, type PodRecord, type LabRecord } from './state.js';
export { runDemo, runDemoCase, runDemoCases, runScenarioDemo, demoCases, demoExpectations, fabricCounter, type DemoRow, type DemoCase, type DemoCheck, type DemoOptions } from './demo.js';
export { runSgpDemo, runSgpDemoCases, sgpDemoCases, sgpMatrixCases, sgpScopeCases, sgpPublicSubnetCase, sgpStrictSameNodeInCase, sgpScenarioPath } from './demo-sgp.js';
export { eksDemoCases, runEksDemoCase, runEksDemoCases, currentEndpointSettings, restoreEndpointSettings, initialEksDemoContext, type EksDemoCase, type EksDemoContext, type EndpointSettings } from './demo-eks.js';
export { containerdMissing, labCgroupParent, renderContainerdConfig, type RuntimeChoice, type LabRuntime } from './containerd.js';
export { connectCri, type CriClient, type PodSandboxConfig, type PodSandboxStatus, type PodSandboxDetails } from './cri/client.js';
export { runRelay, parseRelayAddress, type RelayAddress } from './forward.js';
export { hostKubeconfig, labDaemonSets, labObjects, labPodObject, eniConfigObjects, loadManifests, clusterStatus, type ClusterStatus, type LabNodeSettings } from './cluster.js';
