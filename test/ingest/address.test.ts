import { describe, expect, it } from 'bun:test';
import { blockedAddressReason, isPublicAddress, parseIpv6 } from '../../src/ingest/address.ts';

describe('address policy', () => {
  it.each([
    '127.0.0.1',
    '127.255.255.254',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '100.127.255.255',
    '0.0.0.0',
    '224.0.0.1',
    '239.255.255.250',
    '255.255.255.255',
    '198.18.0.1',
    '192.0.2.5',
    '::',
    '::1',
    '[::1]',
    'fe80::1%eth0',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '::ffff:169.254.169.254',
    '64:ff9b::10.0.0.1',
    '2002:c0a8:0101::1',
    '2001:db8::1',
    'fec0::1',
    '::127.0.0.1',
    '::ffff:0:127.0.0.1',
    '::ffff:0:a9fe:a9fe',
  ])('should refuse %s', (ip) => {
    expect(blockedAddressReason(ip)).not.toBeNull();
  });

  it.each([
    '93.184.216.34',
    '8.8.8.8',
    '172.32.0.1',
    '100.128.0.1',
    '192.169.0.1',
    '2606:4700:4700::1111',
    '2a00:1450:4007:80a::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::8.8.8.8',
    '::ffff:0:8.8.8.8',
  ])('should allow the public address %s', (ip) => {
    expect(isPublicAddress(ip)).toBe(true);
  });

  it('should refuse what is not an IP address', () => {
    expect(blockedAddressReason('localhost')).toBe('not an IP address');
    expect(blockedAddressReason('1.2.3')).toBe('not an IP address');
    expect(blockedAddressReason('1:2:3:4:5:6:7:8:9')).toBe('not an IP address');
  });

  it('should parse the compressed and dotted IPv6 forms alike', () => {
    expect(parseIpv6('::ffff:127.0.0.1')).toEqual(parseIpv6('0:0:0:0:0:ffff:7f00:0001'));
    expect(parseIpv6('fe80::1')).toEqual([0xfe80, 0, 0, 0, 0, 0, 0, 1]);
    expect(parseIpv6('1::2::3')).toBeNull();
  });
});
