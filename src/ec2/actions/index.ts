import type { ActionHandler } from '../protocol.js';
import type { Ec2State } from '../state.js';
import { addressActions } from './addresses.js';
import { eniActions } from './enis.js';
import { instanceActions } from './instances.js';
import { networkAclActions } from './network-acls.js';
import { routingActions } from './routing.js';
import { securityGroupActions } from './security-groups.js';
import { tagActions } from './tags.js';
import { transitGatewayActions } from './transit-gateways.js';
import { trunkActions } from './trunk.js';
import { vpcActions } from './vpc.js';
import { vpnGatewayActions } from './vpn-gateways.js';

/**
 * Every EC2 action the emulator implements, keyed by its Query `Action` name. The server runs each inside
 * `state.transaction(...)`; a handler throws Ec2Error with EC2's code for anything EC2 would refuse.
 */
export const ec2Actions: Record<string, ActionHandler<Ec2State>> = {
  ...vpcActions,
  ...routingActions,
  ...securityGroupActions,
  ...networkAclActions,
  ...transitGatewayActions,
  ...eniActions,
  ...trunkActions,
  ...instanceActions,
  ...addressActions,
  ...tagActions,
  ...vpnGatewayActions,
};
