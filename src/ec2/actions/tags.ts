import { Ec2Error, type ActionHandler } from '../protocol.js';
import type { Ec2State } from '../state.js';
import { type ResourceKind, findRow, setTag } from './common.js';

type Handler = ActionHandler<Ec2State>;

/** Which kind of resource an ID names, by its prefix (EC2 reports unknown IDs with the kind's NotFound code). */
const kindsByPrefix: Record<string, ResourceKind> = {
  vpc: 'vpc',
  subnet: 'subnet',
  eni: 'eni',
  i: 'instance',
  sg: 'group',
  rtb: 'routeTable',
  igw: 'igw',
  nat: 'nat',
  pcx: 'peering',
  vgw: 'vgw',
  cgw: 'cgw',
  vpn: 'vpn',
};

function checkResource(state: Ec2State, id: string): void {
  const prefix = id.slice(0, id.lastIndexOf('-'));
  if (prefix === 'eipalloc') {
    if (!state.get('SELECT 1 FROM public_ips WHERE allocation_id = ?', id)) {
      throw new Ec2Error('InvalidAllocationID.NotFound', `The allocation ID '${id}' does not exist`);
    }
    return;
  }
  const kind = kindsByPrefix[prefix];
  if (!kind) throw new Ec2Error('InvalidID', `The ID '${id}' is not valid`);
  findRow(state, kind, id);
}

function resourceIds(params: Parameters<Handler>[0]): string[] {
  const ids = params.list('ResourceId');
  if (ids.length === 0) throw new Ec2Error('MissingParameter', 'The request must contain the parameter resourceIdSet');
  return ids;
}

const createTags: Handler = (params, state) => {
  const ids = resourceIds(params);
  const tags = params.structs('Tag').map((t) => ({ key: t.req('Key'), value: t.str('Value') ?? '' }));
  if (tags.length === 0) throw new Ec2Error('MissingParameter', 'The request must contain the parameter tagSet');
  for (const id of ids) checkResource(state, id);
  for (const id of ids) for (const tag of tags) setTag(state, id, tag.key, tag.value);
  return { return: true };
};

/** A tag given with a value is deleted only when the value matches; without one, whatever its value. */
const deleteTags: Handler = (params, state) => {
  const ids = resourceIds(params);
  const tags = params.structs('Tag').map((t) => ({ key: t.req('Key'), value: t.str('Value') }));
  for (const id of ids) checkResource(state, id);
  for (const id of ids) {
    if (tags.length === 0) state.run('DELETE FROM tags WHERE resource_id = ?', id);
    for (const tag of tags) {
      if (tag.value === undefined) state.run('DELETE FROM tags WHERE resource_id = ? AND key = ?', id, tag.key);
      else state.run('DELETE FROM tags WHERE resource_id = ? AND key = ? AND value = ?', id, tag.key, tag.value);
    }
  }
  return { return: true };
};

export const tagActions: Record<string, Handler> = {
  CreateTags: createTags,
  DeleteTags: deleteTags,
};
