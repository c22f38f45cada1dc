import { BlockList, isIP } from 'node:net';

/**
 * Whether a connection's peer (never a header) is one of MAMORI_TRUSTED_PROXIES, whose forwarded
 * headers are believed: by forward-auth for the target, by the OpenID Connect routes for the
 * protocol. The list was checked by the configuration. Shared by every layer, like the clock.
 */
export function trustedProxyCheck(cidrs: readonly string[]): (remoteAddress: string | undefined) => boolean {
  const list = new BlockList();
  for (const entry of cidrs) {
    const [address = '', bits] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    list.addSubnet(address, bits === undefined ? (family === 'ipv6' ? 128 : 32) : Number(bits), family);
  }
  return (remoteAddress) => {
    if (remoteAddress === undefined) return false;
    const family = isIP(remoteAddress);
    if (family === 4) return list.check(remoteAddress, 'ipv4');
    if (family !== 6) return false;
    if (list.check(remoteAddress, 'ipv6')) return true;
    // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; the list names them as IPv4.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remoteAddress);
    return mapped !== null && list.check(mapped[1]!, 'ipv4');
  };
}
