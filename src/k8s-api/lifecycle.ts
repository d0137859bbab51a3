/**
 * The controllers' bookkeeping the server does in line with the writes, as a real control plane does shortly after:
 * a CRD gets its status (NamesAccepted, Established) and its types are served or withdrawn (its objects removed
 * with it); a token Secret gets its token; a deleted service account's tokens, and a deleted token Secret's token,
 * stop working; a new namespace gets its `default` service account.
 */
import { crdDefinitionType, crdEstablished, crdStatus, crdTypes, servedNames } from './crd.js';
import { jsonEqual } from './rest.js';
import type { Registry } from './registry.js';
import type { ObjectApi, WriteHooks } from './rest.js';
import { resourceKey, type ObjectStore } from './store.js';
import { fillServiceAccountTokenSecret, tokenOfSecret, type Tokens } from './tokens.js';
import type { Identity, KubeObject, ResourceType } from './types.js';

const controller: Identity = { user: 'system:kube-controller-manager', groups: ['system:masters', 'system:authenticated'] };

function isCrd(type: ResourceType): boolean {
  return type.group === crdDefinitionType.group && type.plural === crdDefinitionType.plural;
}

/** Serves the types of every established CRD stored: at start, before the first request. */
export function registerStoredCrds(store: ObjectStore, registry: Registry): void {
  for (const crd of store.scan(resourceKey(crdDefinitionType.group, crdDefinitionType.plural), undefined)) {
    if (crdEstablished(crd)) registry.setCrd(crd.metadata.name!, crdTypes(crd));
  }
}

export function controllerHooks(api: () => ObjectApi, tokens: Tokens, caPem: string): WriteHooks {
  const serviceAccounts = (): ResourceType => {
    const type = api().registry.find('', 'v1', 'serviceaccounts');
    if (!type) throw new Error('serviceaccounts are not registered');
    return type;
  };
  return {
    beforeStore(type, obj, old) {
      // the CRD's names are checked against everything else served, and its conditions set, in the same write
      if (isCrd(type) && !obj.metadata.deletionTimestamp) return { ...obj, status: crdStatus(obj, api().registry.othersThan(obj.metadata.name!)) };
      if (type.group === 'apps' && type.kind === 'DaemonSet') return withTemplateGeneration(obj, old);
      if (old || type.group !== '' || type.kind !== 'Secret') return obj;
      const account = obj.metadata.annotations?.['kubernetes.io/service-account.name'];
      const sa = account === undefined ? undefined : api().find(serviceAccounts(), obj.metadata.namespace ?? '', account);
      return fillServiceAccountTokenSecret(obj, sa, tokens, caPem) ?? obj;
    },
    afterWrite(type, op, obj) {
      if (isCrd(type)) return crdWritten(api(), op, obj);
      if (type.group !== '') return;
      if (op === 'DELETE' && type.kind === 'ServiceAccount') tokens.forgetServiceAccount(obj.metadata.namespace ?? '', obj.metadata.name!);
      if (op === 'DELETE' && type.kind === 'Secret') {
        const token = tokenOfSecret(obj);
        if (token) tokens.revokeToken(token);
      }
      if (op === 'CREATE' && type.kind === 'Namespace') {
        const name = obj.metadata.name!;
        // after the namespace's own write has been answered, as the service account controller does it
        setImmediate(() => {
          if (api().closed) return;
          const sa = serviceAccounts();
          if (api().find(sa, name, 'default')) return;
          api()
            .create(sa, name, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } }, { who: controller })
            .catch(() => undefined); // the namespace went meanwhile
        });
      }
    },
  };
}

/** A CRD created or changed is served once established; a deleted one takes its objects with it. */
function crdWritten(api: ObjectApi, op: 'CREATE' | 'UPDATE' | 'DELETE', crd: KubeObject): void {
  const name = crd.metadata.name!;
  if (op !== 'DELETE') {
    if (crdEstablished(crd)) api.registry.setCrd(name, crdTypes(crd));
    return;
  }
  api.registry.removeCrd(name);
  const group = (crd['spec'] as { group?: unknown } | undefined)?.group;
  // its objects are filed under the plural it was served by (the accepted one)
  const plural = servedNames(crd).plural;
  if (typeof group === 'string' && plural !== '' && !api.registry.anyVersion(group, plural)) api.store.removeAll(resourceKey(group, plural));
}

const TEMPLATE_GENERATION = 'deprecated.daemonset.template.generation';

/** The DaemonSet controller's count of template changes, in the annotation it has kept since apps/v1beta1: 1 on create. */
function withTemplateGeneration(ds: KubeObject, old: KubeObject | undefined): KubeObject {
  const template = (o: KubeObject) => (o['spec'] as { template?: unknown } | undefined)?.template;
  const before = Number(old?.metadata.annotations?.[TEMPLATE_GENERATION] ?? '0');
  const generation = !old ? 1 : jsonEqual(template(ds), template(old)) ? before : before + 1;
  return { ...ds, metadata: { ...ds.metadata, annotations: { ...ds.metadata.annotations, [TEMPLATE_GENERATION]: String(generation) } } };
}
