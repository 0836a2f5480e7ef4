import { describe, expect, it } from 'vitest';
import { ProvablyUrlError, redactUserinfo } from '../../src/errors/index.js';
import { normalizeTrustEntry, normalizeUrlForTrust } from '../../src/trust/index.js';

/** The ProvablyUrlError that `fn` throws (fails the test if it throws anything else). */
function rejection(fn: () => unknown): ProvablyUrlError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProvablyUrlError);
    return err as ProvablyUrlError;
  }
  throw new Error('expected a ProvablyUrlError, nothing was thrown');
}

describe('normalizeUrlForTrust', () => {
  it.each([
    ['scheme and host lower case', 'HTTPS://API.Example.COM/Path', 'https://api.example.com/Path'],
    ['https default port dropped', 'https://h.example:443/x', 'https://h.example/x'],
    ['http default port dropped', 'http://h.example:80/x', 'http://h.example/x'],
    ['non-default port kept', 'https://h.example:8443/x', 'https://h.example:8443/x'],
    ['port of the other scheme kept', 'http://h.example:443/x', 'http://h.example:443/x'],
    ['empty port', 'https://h.example:/x', 'https://h.example/x'],
    ['root has no slash', 'https://h.example/', 'https://h.example'],
    ['root without slash', 'https://h.example', 'https://h.example'],
    ['trailing slash dropped', 'https://h.example/a/', 'https://h.example/a'],
    ['all trailing slashes dropped', 'https://h.example/a///', 'https://h.example/a'],
    ['query and fragment dropped', 'https://h.example/a?b=c#d', 'https://h.example/a'],
    ['empty query dropped', 'https://h.example/a?', 'https://h.example/a'],
    ['dot segments', 'https://h.example/a/./b/../c', 'https://h.example/a/c'],
    ['.. above root', 'https://h.example/../../a', 'https://h.example/a'],
    ['%2e%2e', 'https://h.example/a/b/%2e%2e/c', 'https://h.example/a/c'],
    ['%2E%2e', 'https://h.example/a/b/%2E%2e/c', 'https://h.example/a/c'],
    ['.%2E', 'https://h.example/a/b/.%2E/c', 'https://h.example/a/c'],
    ['%2e', 'https://h.example/a/%2e/c', 'https://h.example/a/c'],
    ['.. to root', 'https://h.example/a/..', 'https://h.example'],
    ['empty segments kept', 'https://h.example//a//b', 'https://h.example//a//b'],
    ['only slashes is the root', 'https://h.example//', 'https://h.example'],
    ['encoded unreserved decoded', 'https://h.example/%7Euser/%41%2d%5F%2E', 'https://h.example/~user/A-_.'],
    ['other escapes upper case', 'https://h.example/a%3fb%2fc%5cd%25', 'https://h.example/a%3Fb%2Fc%5Cd%25'],
    ['%2F stays encoded', 'https://h.example/a%2Fb', 'https://h.example/a%2Fb'],
    ['%2e%2e%2f is not a dot segment', 'https://h.example/a/%2e%2e%2fb', 'https://h.example/a/..%2Fb'],
    ['non-ASCII path as UTF-8', 'https://h.example/café', 'https://h.example/caf%C3%A9'],
    [
      'non-pchar ASCII escaped',
      'https://h.example/a^b|c[d]e{f}g',
      'https://h.example/a%5Eb%7Cc%5Bd%5De%7Bf%7Dg',
    ],
    ['space escaped', 'https://h.example/a b', 'https://h.example/a%20b'],
    ['sub-delims, : and @ kept', "https://h.example/!$&'()*+,;=:@", "https://h.example/!$&'()*+,;=:@"],
    ['trailing dot on host', 'https://h.example./x', 'https://h.example/x'],
    ['IDN to punycode', 'https://Bücher.example/', 'https://xn--bcher-kva.example'],
    ['punycode lower case', 'https://XN--BCHER-KVA.example', 'https://xn--bcher-kva.example'],
    ['IPv4 from one number', 'http://2130706433/', 'http://127.0.0.1'],
    ['IPv4 from hex and octal', 'http://0x7f.0.0.01/', 'http://127.0.0.1'],
    ['IPv4 short form', 'http://10.1/', 'http://10.0.0.1'],
    ['IPv4 trailing dot', 'http://127.0.0.1./', 'http://127.0.0.1'],
    ['IPv6 lower case and compressed', 'http://[2001:DB8:0:0:0:0:0:1]:8080/', 'http://[2001:db8::1]:8080'],
    ['IPv4-mapped IPv6', 'http://[::FFFF:127.0.0.1]/', 'http://[::ffff:7f00:1]'],
  ])('%s', (_rule, input, expected) => {
    expect(normalizeUrlForTrust(input)).toBe(expected);
    expect(normalizeUrlForTrust(expected)).toBe(expected);
  });

  it.each([
    ['not a string', 42, 'not a string'],
    ['undefined', undefined, 'not a string'],
    ['tab', 'https://h.exa\tmple/', 'contains control characters'],
    ['newline', 'https://h.example/a\nb', 'contains control characters'],
    ['carriage return', 'https://h.example/\r', 'contains control characters'],
    ['NUL', 'https://h.example/\u0000', 'contains control characters'],
    ['DEL', 'https://h.example/\u007f', 'contains control characters'],
    ['leading space', ' https://h.example/', 'leading or trailing whitespace'],
    ['trailing space', 'https://h.example/ ', 'leading or trailing whitespace'],
    ['empty string', '', 'not an absolute URL'],
    ['relative', '/a/b', 'not an absolute URL'],
    ['bare host', 'h.example', 'not an absolute URL'],
    ['ftp', 'ftp://h.example/', 'unsupported scheme "ftp:" (only http and https)'],
    ['file', 'file:///etc/passwd', 'unsupported scheme "file:" (only http and https)'],
    ['no slashes', 'https:h.example', 'expected "//" and a host after the scheme'],
    ['one slash', 'https:/h.example', 'expected "//" and a host after the scheme'],
    ['backslashes for slashes', 'https:\\\\h.example', 'expected "//" and a host after the scheme'],
    ['backslash in authority', 'https://h.example\\@evil.net/', 'contains a backslash'],
    ['backslash in path', 'https://h.example/a\\b', 'contains a backslash'],
    ['nothing after //', 'https://', 'empty host'],
    ['three slashes', 'https:///h.example', 'empty host'],
    ['query right after //', 'https://?x', 'empty host'],
    ['host is a dot', 'https://./', 'empty host'],
    ['user and password', 'https://u:p@h.example/', 'credentials (userinfo) are not allowed'],
    ['empty userinfo', 'https://@h.example/', 'credentials (userinfo) are not allowed'],
    ['empty user and password', 'https://:@h.example/', 'credentials (userinfo) are not allowed'],
    ['encoded host', 'https://h.ex%61mple/', 'percent-encoded host'],
    ['invalid host', 'https://h.exa mple/', 'unparsable URL'],
    ['invalid port', 'https://h.example:99999/', 'unparsable URL'],
    ['non-numeric port', 'https://h.example:abc/', 'unparsable URL'],
    // Not `xn--a`: Node 22 refuses invalid punycode, Node 24's URL parser accepts it as is.
    ['host ending in a number', 'https://a.b.1/', 'unparsable URL'],
    ['IPv4 out of range', 'https://0x100000000/', 'unparsable URL'],
    ['invalid IPv6', 'http://[1::2::3]/', 'unparsable URL'],
    ['forbidden host character', 'https://exa<mple.com/', 'unparsable URL'],
    ['unclosed IPv6', 'http://[::1/', 'unparsable URL'],
    ['leading empty label', 'https://.h.example/', 'empty label in host'],
    ['inner empty label', 'https://h..example/', 'empty label in host'],
    ['two trailing dots', 'https://h.example../', 'empty label in host'],
    ['lone %', 'https://h.example/a%', 'malformed percent-encoding in path'],
    ['bad hex', 'https://h.example/%zz', 'malformed percent-encoding in path'],
  ])('rejects %s', (_case, input, reason) => {
    const err = rejection(() => normalizeUrlForTrust(input as string));
    expect(err.reason).toBe(reason);
    expect(err.code).toBe('PROVABLY_INVALID_URL');
    // The error names the URL, with any credentials redacted (errors get logged).
    if (typeof input === 'string') expect(err.url).toBe(redactUserinfo(input));
    expect(err.message).not.toMatch(/u:p@|\/\/u@/);
  });
});

it('an invalid-URL error never carries the credentials it rejected', () => {
  const err = rejection(() => normalizeUrlForTrust('https://admin:hunter2@h.example/'));
  expect(err.url).toBe('https://[REDACTED]@h.example/');
  expect(err.message).not.toContain('hunter2');
});

describe('normalizeTrustEntry', () => {
  it.each([
    ['plain URL', 'HTTPS://API.example.com:443/v1/', 'https://api.example.com/v1', 'exact'],
    ['root', 'https://api.example.com/', 'https://api.example.com', 'exact'],
    ['encoded braces are literal', 'https://h.example/%7bid%7d', 'https://h.example/%7Bid%7D', 'exact'],
    ['{name} at the end', 'https://H.example/users/{id}/', 'https://h.example/users/{id}', 'template'],
    [
      '{name} in the middle',
      'https://h.example/u/{user_id}/p',
      'https://h.example/u/{user_id}/p',
      'template',
    ],
    ['{name:path}', 'https://h.example/files/{rest:path}', 'https://h.example/files/{rest:path}', 'template'],
    ['only a subtree', 'https://h.example/{all:path}', 'https://h.example/{all:path}', 'template'],
    [
      'literal parts normalized',
      'https://h.example./%7Eu/caf\u00e9/{id}',
      'https://h.example/~u/caf%C3%A9/{id}',
      'template',
    ],
    ['query dropped', 'https://h.example/a/{id}?x=1#f', 'https://h.example/a/{id}', 'template'],
    ['empty segments kept', 'https://h.example/a//{id}', 'https://h.example/a//{id}', 'template'],
    ['IDN host', 'https://bücher.example/{id}', 'https://xn--bcher-kva.example/{id}', 'template'],
    ['port kept', 'http://[::1]:8080/{id}', 'http://[::1]:8080/{id}', 'template'],
  ])('%s', (_case, entry, normalized, entryType) => {
    expect(normalizeTrustEntry(entry)).toEqual({ normalized, entryType });
    expect(normalizeTrustEntry(normalized)).toEqual({ normalized, entryType });
  });

  it.each([
    ['placeholder in host', 'https://{tenant}.example.com/', 'placeholders are only allowed in the path'],
    ['placeholder in port', 'https://h.example:{port}/', 'placeholders are only allowed in the path'],
    ['placeholder in query', 'https://h.example/a?x={x}', 'placeholders are only allowed in the path'],
    ['placeholder in fragment', 'https://h.example/a#{x}', 'placeholders are only allowed in the path'],
    ['placeholder with no path', 'https://h.example?{x}', 'placeholders are only allowed in the path'],
    [
      'part of a segment',
      'https://h.example/v{n}',
      'placeholder must be a whole path segment like {name} or {name:path}, got "v{n}"',
    ],
    [
      'unbalanced',
      'https://h.example/{id',
      'placeholder must be a whole path segment like {name} or {name:path}, got "{id"',
    ],
    [
      'nested',
      'https://h.example/{{id}}',
      'placeholder must be a whole path segment like {name} or {name:path}, got "{{id}}"',
    ],
    ['empty name', 'https://h.example/{}', 'invalid placeholder name ""'],
    ['name with dash', 'https://h.example/{user-id}', 'invalid placeholder name "user-id"'],
    ['name starting with digit', 'https://h.example/{1d}', 'invalid placeholder name "1d"'],
    ['unknown type', 'https://h.example/{id:int}', 'unknown placeholder type "int" (only "path")'],
    ['path not last', 'https://h.example/{p:path}/x', '{p:path} is only allowed as the last path segment'],
    ['duplicate name', 'https://h.example/{id}/{id}', 'duplicate placeholder name "id"'],
    ['dot segment', 'https://h.example/a/../{id}', 'dot segments are not allowed in templates'],
    ['encoded dot segment', 'https://h.example/%2e/{id}', 'dot segments are not allowed in templates'],
    ['credentials', 'https://u@h.example/{id}', 'credentials (userinfo) are not allowed'],
    ['other scheme', 'ftp://h.example/{id}', 'unsupported scheme "ftp:" (only http and https)'],
    ['backslash', 'https://h.example/a\\{id}', 'contains a backslash'],
    ['bad escape in a literal', 'https://h.example/%zz/{id}', 'malformed percent-encoding in path'],
    ['bad host', 'https://h..example/{id}', 'empty label in host'],
    ['exact entry with credentials', 'https://u:p@h.example/', 'credentials (userinfo) are not allowed'],
  ])('rejects %s', (_case, entry, reason) => {
    const err = rejection(() => normalizeTrustEntry(entry));
    expect(err.reason).toBe(reason);
    expect(err.url).toBe(redactUserinfo(entry));
  });

  it('rejects a non-string entry', () => {
    expect(rejection(() => normalizeTrustEntry(null as unknown as string)).reason).toBe('not a string');
  });
});
