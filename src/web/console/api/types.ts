import type { paths } from './schema';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** The JSON body an operation takes, from the server's OpenAPI document. */
export type JsonBody<P extends keyof paths, M extends Method> = paths[P][M] extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

/** The JSON an operation answers with on `status`. */
export type JsonAnswer<P extends keyof paths, M extends Method, S extends number = 200> = paths[P][M] extends { responses: { [K in S]: { content: { 'application/json': infer A } } } } ? A : never;
