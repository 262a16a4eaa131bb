// AWS Signature Version 4 for Node (node:crypto only): the recipe docs/backstage.md describes, checked against
// AWS's published SigV4 test-suite vectors in test/sigv4.test.js and against the engine's Python verifier.
import { createHash, createHmac, randomBytes } from 'node:crypto';

const ALGORITHM = 'AWS4-HMAC-SHA256';

export const sha256Hex = (data) => createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => createHmac('sha256', key).update(data).digest();

// RFC 3986 encoding, as SigV4 requires (encodeURIComponent leaves !'()* alone).
const encode = (text) =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

// The path as sent on the wire, encoded once more (every service but S3), '/' kept.
export const canonicalUri = (path) => (path || '/').split('/').map(encode).join('/');

export function canonicalQuery(search) {
  const pairs = [...new URLSearchParams(search)].map(([k, v]) => [encode(k), encode(v)]);
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

export function signingKey(secretAccessKey, date, region, service) {
  let key = hmac(`AWS4${secretAccessKey}`, date);
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
  return key;
}

export const amzDate = (now = new Date()) => now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

// Sign one request. `path` is the path exactly as it goes on the wire; it is URI-encoded once more, as AWS does.
export function sign({ method, path, search = '', headers, payloadHash, accessKeyId, secretAccessKey, region, service, date }) {
  const lowered = {};
  for (const [name, value] of Object.entries(headers)) {
    lowered[name.toLowerCase()] = String(value).trim().replace(/\s+/g, ' ');
  }
  const names = Object.keys(lowered).sort();
  const canonicalHeaders = names.map((n) => `${n}:${lowered[n]}\n`).join('');
  const signedHeaders = names.join(';');
  const canonicalRequest = [
    method.toUpperCase(),
    canonicalUri(path),
    canonicalQuery(search),
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${date.slice(0, 8)}/${region}/${service}/aws4_request`;
  const stringToSign = [ALGORITHM, date, scope, sha256Hex(canonicalRequest)].join('\n');
  const signature = createHmac('sha256', signingKey(secretAccessKey, date.slice(0, 8), region, service))
    .update(stringToSign)
    .digest('hex');
  const authorization = `${ALGORITHM} Credential=${accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return { canonicalRequest, stringToSign, signature, signedHeaders, authorization };
}

// Headers for a fetch() to `url`: host, x-amz-date, a random nonce (two identical requests in one second are not a
// replay), the session token when the credentials are temporary (an assumed role), and Authorization.
export function signedHeaders({ method, url, body = '', credentials, region, service = 'execute-api', headers = {}, now }) {
  const target = new URL(url);
  const date = amzDate(now);
  const out = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  out.host = target.host;
  out['x-amz-date'] = date;
  out['x-slo-engine-nonce'] = randomBytes(8).toString('hex');
  if (credentials.sessionToken) out['x-amz-security-token'] = credentials.sessionToken;
  const signed = sign({
    method,
    path: target.pathname,
    search: target.search,
    headers: out,
    payloadHash: sha256Hex(body),
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
    region,
    service,
    date,
  });
  out.authorization = signed.authorization;
  delete out.host; // fetch sets Host itself, to the same value
  return out;
}
