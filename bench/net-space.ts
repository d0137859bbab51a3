/**
 * How fast the EC2 emulator's per-request subnet accounting is: each request builds a SubnetSpace for a /16 from
 * the subnet's used addresses (stored as text) and allocates from it. Prints milliseconds; asserts nothing.
 */
import { type Address, SubnetSpace, addressAt, formatAddress, parseAddress, parseCidr } from '../src/net/index.js';

const requests = 200;
const usedCount = 10000n;
const subnet = parseCidr('10.0.0.0/16');
const used: Address[] = [];
for (let i = 0n; i < usedCount; i++) used.push(addressAt(subnet, 4n + i * 6n));
const usedText = used.map(formatAddress);

function time(label: string, body: () => void): void {
  const start = performance.now();
  for (let r = 0; r < requests; r++) body();
  const ms = performance.now() - start;
  console.log(`${label}: ${ms.toFixed(0)} ms for ${requests} requests (${(ms / requests).toFixed(2)} ms each)`);
}

for (let round = 1; round <= 3; round++) {
  console.log(`round ${round}, /16 with ${usedCount} used addresses`);
  time('  build from Address[] + allocateAddress + allocateBlock', () => {
    const space = new SubnetSpace(subnet, used);
    space.allocateAddress();
    space.allocateBlock();
  });
  time('  parse text + build + allocateAddress', () => {
    new SubnetSpace(subnet, usedText.map(parseAddress)).allocateAddress();
  });
}
