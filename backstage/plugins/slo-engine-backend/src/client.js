// A small client of the SLO engine API for Backstage's backend: every request signed with SigV4 (the Backstage
// role's credentials in AWS, a team key of `slo-engine serve` locally). Errors carry the API's status and message.
import { signedHeaders } from './sigv4.js';

export class SloEngineError extends Error {
  constructor(status, message) {
    super(`SLO engine answered ${status}: ${message}`);
    this.status = status;
  }
}

export class SloEngineClient {
  // baseUrl: e.g. https://abc.execute-api.eu-west-1.amazonaws.com/v1 or http://127.0.0.1:8080
  // credentials: () => ({ accessKeyId, secretAccessKey, sessionToken? }) (called per request: roles rotate)
  constructor({ baseUrl, region, credentials, fetchImpl = globalThis.fetch, apiKey }) {
    this.baseUrl = baseUrl.replace(/\/$/, '');
    this.region = region;
    this.credentials = typeof credentials === 'function' ? credentials : () => credentials;
    this.fetch = fetchImpl;
    this.apiKey = apiKey; // the team's usage-plan key in AWS (x-api-key); not needed locally
  }

  async request(method, path, body) {
    const url = `${this.baseUrl}${path}`;
    const text = body === undefined ? '' : JSON.stringify(body);
    const headers = signedHeaders({
      method,
      url,
      body: text,
      credentials: await this.credentials(),
      region: this.region,
      headers: {
        ...(text ? { 'content-type': 'application/json' } : {}),
        ...(this.apiKey ? { 'x-api-key': this.apiKey } : {}),
      },
    });
    const response = await this.fetch(url, { method, headers, body: text || undefined });
    const payload = await response.json().catch(() => ({ message: 'the answer was not JSON' }));
    if (!response.ok) throw new SloEngineError(response.status, payload.message ?? 'unknown error');
    return payload;
  }

  serviceSlos(service) {
    return this.request('GET', `/services/${encodeURIComponent(service)}/slos`);
  }

  recommendation(id) {
    return this.request('GET', `/recommendations/${encodeURIComponent(id)}`);
  }

  feedback(id, kind, text) {
    return this.request('POST', `/recommendations/${encodeURIComponent(id)}/feedback`, { kind, text });
  }
}
