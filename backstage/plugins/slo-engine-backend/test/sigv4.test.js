// The Node signer against AWS's published SigV4 test-suite vectors (AKIDEXAMPLE, 20150830T123600Z, us-east-1,
// service "service").
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sha256Hex, sign, signingKey } from '../src/sigv4.js';

const SUITE = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  region: 'us-east-1',
  service: 'service',
  date: '20150830T123600Z',
  headers: { Host: 'example.amazonaws.com', 'X-Amz-Date': '20150830T123600Z' },
  payloadHash: sha256Hex(''),
};

test('get-vanilla: canonical request, string to sign and signature', () => {
  const r = sign({ ...SUITE, method: 'GET', path: '/' });
  assert.equal(
    r.canonicalRequest,
    'GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n' +
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  );
  assert.equal(
    r.stringToSign,
    'AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n' +
      'bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63',
  );
  assert.equal(r.signature, '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31');
});

test('get-vanilla-query-order-key-case: the query is sorted', () => {
  const r = sign({ ...SUITE, method: 'GET', path: '/', search: '?Param2=value2&Param1=value1' });
  assert.equal(r.signature, 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500');
});

test('get-utf8: the path is encoded', () => {
  const r = sign({ ...SUITE, method: 'GET', path: '/\u1234' });
  assert.equal(r.signature, '8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85');
});

test('post-vanilla', () => {
  const r = sign({ ...SUITE, method: 'POST', path: '/' });
  assert.equal(r.signature, '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b');
});

test('the derived signing key matches the published value', () => {
  const key = signingKey(SUITE.secretAccessKey, '20150830', 'us-east-1', 'service');
  assert.equal(key.toString('hex'), '938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75');
});
