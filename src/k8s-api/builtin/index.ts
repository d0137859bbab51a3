/**
 * The built-in kinds the lab's API server serves, described as ResourceTypes: names and discovery facts, printer
 * columns, server-side defaulting and validation as Kubernetes has them.
 */
import type { ResourceType } from '../types.js';
import { configMapType, namespaceType, nodeType, secretType, serviceAccountType } from './core.js';
import { daemonSetType } from './daemonset.js';
import { coreEventType, eventsEventType } from './events.js';
import { leaseType, mutatingWebhookConfigurationType, validatingWebhookConfigurationType } from './others.js';
import { podType } from './pod.js';
import { rbacTypes } from './rbac.js';

export function builtinTypes(): ResourceType[] {
  return [
    namespaceType(),
    nodeType(),
    podType(),
    serviceAccountType(),
    secretType(),
    configMapType(),
    coreEventType(),
    daemonSetType(),
    eventsEventType(),
    leaseType(),
    ...rbacTypes(),
    mutatingWebhookConfigurationType(),
    validatingWebhookConfigurationType(),
  ];
}

export { podSummary } from './pod.js';
