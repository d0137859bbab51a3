/**
 * The EC2 Query protocol's response side: `<ActionResponse xmlns=…><requestId>…</requestId>…</ActionResponse>`
 * for results and `<Response><Errors><Error><Code>…` for errors. A small hand renderer: EC2's shapes are
 * plain elements, lists as `<item>` children, no attributes besides the namespace.
 */
import type { Ec2Error, XmlObject, XmlValue } from './protocol.js';

const EC2_XML_NAMESPACE = 'http://ec2.amazonaws.com/doc/2016-11-15/';

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Characters XML 1.0 cannot carry at all, not even as `&#…;` references (controls, lone surrogates, U+FFFE/FFFF). */
const notXmlChar = /[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu;

/**
 * Text as XML character data. A value that echoes a caller's input (an error naming a bad parameter) may hold
 * characters XML cannot carry; they are written as `\uXXXX` so the document stays well formed and still shows them.
 */
function escapeXml(text: string): string {
  return text
    .replace(/[&<>"']/g, (c) => escapes[c]!)
    .replace(notXmlChar, (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}

function renderValue(value: XmlValue): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map((item) => (item === null || item === undefined ? '' : `<item>${renderValue(item)}</item>`)).join('');
  if (typeof value === 'object') return renderElements(value);
  return escapeXml(String(value));
}

function renderElements(object: XmlObject): string {
  let out = '';
  for (const [name, value] of Object.entries(object)) {
    if (value === null || value === undefined) continue;
    out += `<${name}>${renderValue(value)}</${name}>`;
  }
  return out;
}

/** A successful response: `<{Action}Response>` with EC2's namespace, the request ID first, then the body. */
export function renderResponse(action: string, requestId: string, body: XmlObject): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<${action}Response xmlns="${EC2_XML_NAMESPACE}"><requestId>${escapeXml(requestId)}</requestId>` +
    `${renderElements(body)}</${action}Response>`
  );
}

/** EC2's error document; the HTTP status travels with the error (400 client, 500 internal, 503 throttled). */
export function renderError(error: Ec2Error, requestId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<Response><Errors><Error><Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message>` +
    `</Error></Errors><RequestID>${escapeXml(requestId)}</RequestID></Response>`
  );
}
