/**
 * The published contracts the stand-ins hold each request to, copied from the sources cosign 2.5's
 * clients are generated from (descriptions left out):
 * - Fulcio v1.6.6 `fulcio_legacy.swagger.json`: the body of `POST /api/v1/signingCert`;
 * - Rekor v1.5.3 `openapi.yaml` (`hashedrekord`, `SearchLogQuery`, `LogEntry`, `InclusionProof`) and
 *   `pkg/types/hashedrekord/v0.0.1/hashedrekord_v0_0_1_schema.json`.
 * A request that does not match is refused with 400 and the schema's complaint, as the real services
 * refuse it; the stand-ins also check their own responses against `LogEntry` before sending them.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import ajvFormats from 'ajv-formats';

const fulcioPublicKey = {
  type: 'object',
  properties: { algorithm: { type: 'string' }, content: { type: 'string', format: 'byte' } },
  required: ['content'],
};
export const FULCIO_SIGNING_CERT_REQUEST = {
  type: 'object',
  properties: {
    publicKey: fulcioPublicKey,
    signedEmailAddress: { type: 'string', format: 'byte' },
    certificateSigningRequest: { type: 'string', format: 'byte' },
  },
};

const semver =
  '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(?:-((?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$';
const hashedrekordV001 = {
  type: 'object',
  properties: {
    signature: {
      type: 'object',
      properties: {
        content: { type: 'string', format: 'byte' },
        publicKey: { type: 'object', properties: { content: { type: 'string', format: 'byte' } } },
      },
    },
    data: {
      type: 'object',
      properties: {
        hash: {
          type: 'object',
          properties: {
            algorithm: { type: 'string', enum: ['sha256', 'sha384', 'sha512'] },
            value: { type: 'string' },
          },
          required: ['algorithm', 'value'],
        },
      },
    },
  },
  required: ['signature', 'data'],
};
export const REKOR_PROPOSED_HASHEDREKORD = {
  type: 'object',
  properties: {
    kind: { type: 'string', const: 'hashedrekord' },
    apiVersion: { type: 'string', pattern: semver },
    spec: { type: 'object', oneOf: [hashedrekordV001] },
  },
  required: ['kind', 'apiVersion', 'spec'],
  additionalProperties: false,
};
export const REKOR_SEARCH_LOG_QUERY = {
  type: 'object',
  properties: {
    entryUUIDs: {
      type: 'array',
      minItems: 1,
      maxItems: 10,
      items: { type: 'string', pattern: '^([0-9a-fA-F]{64}|[0-9a-fA-F]{80})$' },
    },
    logIndexes: { type: 'array', minItems: 1, maxItems: 10, items: { type: 'integer', minimum: 0 } },
    entries: { type: 'array', minItems: 1, maxItems: 10, items: REKOR_PROPOSED_HASHEDREKORD },
  },
};
const inclusionProof = {
  type: 'object',
  properties: {
    logIndex: { type: 'integer', minimum: 0 },
    rootHash: { type: 'string', pattern: '^[0-9a-fA-F]{64}$' },
    treeSize: { type: 'integer', minimum: 1 },
    hashes: { type: 'array', items: { type: 'string', pattern: '^[0-9a-fA-F]{64}$' } },
    checkpoint: { type: 'string', format: 'signedCheckpoint' },
  },
  required: ['logIndex', 'rootHash', 'treeSize', 'hashes', 'checkpoint'],
};
export const REKOR_LOG_ENTRY = {
  type: 'object',
  additionalProperties: {
    type: 'object',
    properties: {
      logID: { type: 'string', pattern: '^[0-9a-fA-F]{64}$' },
      logIndex: { type: 'integer', minimum: 0 },
      // The description says `object`; the real service sends the entry as a base64 string, which is
      // what cosign decodes (go-swagger reads it into an interface{}).
      body: { type: 'string', format: 'byte' },
      integratedTime: { type: 'integer' },
      verification: {
        type: 'object',
        properties: { inclusionProof, signedEntryTimestamp: { type: 'string', format: 'byte' } },
      },
    },
    required: ['logID', 'logIndex', 'body', 'integratedTime'],
  },
};

let ajv: Ajv | undefined;
function compile(schema: object): ValidateFunction {
  if (!ajv) {
    ajv = new Ajv({ allErrors: true, strict: false });
    ajvFormats.default(ajv);
    // Rekor's own format for a signed note; the stand-in writes it, so any string is its shape here.
    ajv.addFormat('signedCheckpoint', true);
  }
  return ajv.compile(schema);
}

/**
 * A request body as both services read it: a JSON `null` is an absent field (proto3 JSON for Fulcio's
 * gRPC gateway, go-swagger's optional fields for Rekor), and cosign's Go clients send nulls for unset
 * fields. Throws on a body that is not JSON.
 */
export const parseRequest = (body: string): unknown =>
  JSON.parse(body, (_k, v) => (v === null ? undefined : v));

/** Undefined when `value` matches `schema`, else the schema's complaints, one line. */
export function contractProblem(schema: object, value: unknown): string | undefined {
  const v = compile(schema);
  if (v(value)) return undefined;
  return (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
}
