import { describe, expect, it } from 'vitest';
import { withoutFetchResponse } from '../../src/store/db.js';

/**
 * withoutFetchResponse (src/store/db.ts): pg is loaded with the global Response hidden, so that
 * its Cloudflare check does not load Node's fetch; the property comes back exactly as it was.
 */
describe('loading pg without touching fetch', () => {
  it('hides Response during the load only, and puts back the same property, even when the load throws', () => {
    const before = Object.getOwnPropertyDescriptor(globalThis, 'Response');
    expect(withoutFetchResponse(() => typeof Response)).toBe('undefined');
    expect(Object.getOwnPropertyDescriptor(globalThis, 'Response')).toEqual(before);
    expect(() =>
      withoutFetchResponse(() => {
        throw new Error('load failed');
      }),
    ).toThrow('load failed');
    expect(Object.getOwnPropertyDescriptor(globalThis, 'Response')).toEqual(before);
    expect(new Response('ok').status).toBe(200);
  });
});
