import { BlockList, isIP } from 'node:net';

/**
 * Whether a peer address is one of MAMORI_TRUSTED_PROXIES, whose forwarded headers are believed.
 * IPv4 peers on a dual-stack socket arrive as `::ffff:a.b.c.d` and are checked as IPv4.
 */
export function trustedProxyCheck(list: readonly string[]): (address: string | undefined) => boolean {
  const blocks = new BlockList();
  for (const entry of list) {
    const [address = '', bits] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    blocks.addSubnet(address, bits === undefined ? (family === 'ipv6' ? 128 : 32) : Number(bits), family);
  }
  return (address) => {
    if (address === undefined) return false;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return blocks.check(mapped[1]!, 'ipv4');
    const family = isIP(address);
    return family !== 0 && blocks.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };
}
