import { isIP } from 'node:net';

const IPV4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/;

/** The eight 16-bit groups of an IPv6 address, as numbers (an IPv4 tail makes the last two). */
function ipv6Groups(address: string): number[] {
  const parse = (part: string) =>
    part === ''
      ? []
      : part.split(':').flatMap((group) => {
          if (!group.includes('.')) return [parseInt(group, 16)];
          const [a, b, c, d] = group.split('.').map(Number) as [number, number, number, number];
          return [(a << 8) | b, (c << 8) | d];
        });
  const [head = '', tail] = address.split('::');
  const before = parse(head);
  if (tail === undefined) return before;
  const after = parse(tail);
  return [...before, ...new Array<number>(8 - before.length - after.length).fill(0), ...after];
}

/**
 * The key a client's address is counted and cleared under, or undefined for text that is not an
 * address. IPv4 stays as it is (also when it arrives IPv4-mapped, `::ffff:10.0.0.1`). IPv6 counts
 * by its /64 network, written `2001:db8:0:1::/64`: one subscriber usually holds a whole /64, and
 * could otherwise take a fresh address for every attempt. A /64 written that way is its own key.
 */
export function addressKey(text: string): string | undefined {
  const address = text.toLowerCase().replace(/%.*$/, '');
  const mapped = IPV4_MAPPED.exec(address);
  if (mapped) return mapped[1];
  const kind = isIP(address) || (address.endsWith('/64') && isIP(address.slice(0, -3)) === 6 ? 6 : 0);
  if (kind === 4) return address;
  if (kind === 0) return undefined;
  const network = ipv6Groups(address.replace(/\/64$/, '')).slice(0, 4);
  return `${network.map((group) => group.toString(16)).join(':')}::/64`;
}
