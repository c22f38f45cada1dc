import { createCipheriv, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

export type Protection = { psk: Buffer } | { passphrase: string; salt?: Buffer; iterations?: number };

export interface TokenSpec {
  serial: string;
  /** The token's seed (RFC 6238's SHA1 key by default). */
  secret?: Buffer;
  digits?: 6 | 8;
  period?: number;
  manufacturer?: string;
}

/** RFC 6238 Appendix B's SHA1 key: at Unix time 59 the 8-digit code is 94287082. */
export const RFC6238_SECRET = Buffer.from('12345678901234567890');

const aes128 = (key: Buffer, plain: Buffer): string => {
  const iv = randomBytes(16);
  const c = createCipheriv('aes-128-cbc', key, iv);
  return Buffer.concat([iv, c.update(plain), c.final()]).toString('base64');
};

/**
 * An encrypted PSKC file of TOTP tokens laid out as RFC 6030 §6.1 Figure 6 (a pre-shared AES-128
 * key) or §6.2 Figure 7 (a PBKDF2 key from a passphrase, UTF-8, HMAC-SHA1), with the MAC key
 * encrypted under the same key and an HMAC-SHA1 ValueMAC over each secret's IV and ciphertext.
 * The RFCs' own figures carry one HOTP serial; tests need TOTP tokens with serials of their own.
 */
export function encryptedPskc(tokens: readonly TokenSpec[], protection: Protection): string {
  let key: Buffer;
  let encryptionKey: string;
  if ('psk' in protection) {
    key = protection.psk;
    encryptionKey = '<EncryptionKey><ds:KeyName>Pre-shared-key</ds:KeyName></EncryptionKey>';
  } else {
    const salt = protection.salt ?? randomBytes(8);
    const iterations = protection.iterations ?? 1000;
    key = pbkdf2Sync(Buffer.from(protection.passphrase, 'utf8'), salt, iterations, 16, 'sha1');
    encryptionKey = `<EncryptionKey>
    <xenc11:DerivedKey>
      <xenc11:KeyDerivationMethod Algorithm="http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2">
        <pkcs5:PBKDF2-params>
          <Salt><Specified>${salt.toString('base64')}</Specified></Salt>
          <IterationCount>${iterations}</IterationCount>
          <KeyLength>16</KeyLength>
          <PRF/>
        </pkcs5:PBKDF2-params>
      </xenc11:KeyDerivationMethod>
      <xenc11:MasterKeyName>Passphrase</xenc11:MasterKeyName>
    </xenc11:DerivedKey>
  </EncryptionKey>`;
  }
  const macKey = randomBytes(20);
  const packages = tokens.map((tk) => {
    const cipher = aes128(key, tk.secret ?? RFC6238_SECRET);
    const mac = createHmac('sha1', macKey).update(Buffer.from(cipher, 'base64')).digest('base64');
    return `  <KeyPackage>
    <DeviceInfo><Manufacturer>${tk.manufacturer ?? 'Acme'}</Manufacturer><SerialNo>${tk.serial}</SerialNo></DeviceInfo>
    <Key Id="${tk.serial}" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp">
      <Issuer>Acme</Issuer>
      <AlgorithmParameters><ResponseFormat Length="${tk.digits ?? 6}" Encoding="DECIMAL"/></AlgorithmParameters>
      <Data>
        <Secret>
          <EncryptedValue><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
            <xenc:CipherData><xenc:CipherValue>${cipher}</xenc:CipherValue></xenc:CipherData></EncryptedValue>
          <ValueMAC>${mac}</ValueMAC>
        </Secret>
        <Time><PlainValue>0</PlainValue></Time>
        <TimeInterval><PlainValue>${tk.period ?? 30}</PlainValue></TimeInterval>
      </Data>
    </Key>
  </KeyPackage>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"
  xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"
  xmlns:xenc11="http://www.w3.org/2009/xmlenc11#" xmlns:pkcs5="http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#">
  ${encryptionKey}
  <MACMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1">
    <MACKey><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
      <xenc:CipherData><xenc:CipherValue>${aes128(key, macKey)}</xenc:CipherValue></xenc:CipherData></MACKey>
  </MACMethod>
${packages.join('\n')}
</KeyContainer>
`;
}
