/**
 * Tricky URLs with the verdict trust matching must give. `expected` is the registered entry
 * (as written) that trusts `url`, or null. Most cases are attacks or near misses that must
 * give null: a single wrong non-null is a false trust.
 */
export interface TrustCase {
  name: string;
  registered: string[];
  url: string;
  expected: string | null;
}

const API = 'https://api.example.com';

/** Shorthand: one registered entry; `trusted` says whether `url` must match it. */
function one(name: string, entry: string, url: string, trusted: boolean): TrustCase {
  return { name, registered: [entry], url, expected: trusted ? entry : null };
}

export const corpus: TrustCase[] = [
  // Userinfo: never trusted, whatever host it points at.
  one('host as userinfo of another host', API, 'https://api.example.com@evil.net/', false),
  one('credentials for the right host', API, 'https://user:pass@api.example.com/', false),
  one('empty userinfo', API, 'https://@api.example.com/', false),
  one('empty user and password', API, 'https://:@api.example.com/', false),
  one('other host as userinfo', API, 'https://evil.net@api.example.com/', false),
  one('port-looking userinfo', API, 'https://api.example.com:443@evil.net/', false),
  one('encoded @ in host', API, 'https://api.example.com%40evil.net/', false),

  // Host prefix/suffix tricks: host comparison is exact, never a string prefix.
  one('trusted host as subdomain of attacker', API, 'https://api.example.com.evil.net/', false),
  one('trusted URL in the path', API, 'https://evil.net/https://api.example.com', false),
  one('host with extra prefix', API, 'https://evilapi.example.com/', false),
  one('subdomain of trusted host', API, 'https://sub.api.example.com/', false),
  one('parent domain', API, 'https://example.com/', false),
  one('truncated host', API, 'https://api.example.co/', false),
  one('mixed-case host', API, 'https://API.Example.COM/', true),
  one('upper-case scheme', API, 'HTTPS://api.example.com', true),

  // Scheme and port.
  one('other scheme', API, 'http://api.example.com/', false),
  one('non-default port', API, 'https://api.example.com:8443/', false),
  one('explicit default port', API, 'https://api.example.com:443/', true),
  one('default port with leading zero', API, 'https://api.example.com:0443/', true),
  one('https default port on http', 'http://api.example.com', 'http://api.example.com:443/', false),
  one('explicit :80 in entry', 'http://api.example.com:80/x', 'http://api.example.com/x', true),
  one('entry with non-default port', `${API}:8443/x`, 'https://api.example.com:8443/x', true),
  one('entry port missing from URL', `${API}:8443/x`, 'https://api.example.com/x', false),
  one('ftp scheme', API, 'ftp://api.example.com/', false),
  one('websocket scheme', API, 'wss://api.example.com/', false),
  one('scheme without slashes', API, 'https:api.example.com', false),
  one('scheme with one slash', API, 'https:/api.example.com', false),
  one('scheme with three slashes', API, 'https:///api.example.com', false),

  // Exact means exact.
  one('longer last segment', `${API}/x`, `${API}/xy`, false),
  one('deeper path', `${API}/x`, `${API}/x/y`, false),
  one('trailing slash', `${API}/x`, `${API}/x/`, true),
  one('root with and without slash', `${API}/`, API, true),
  one('path case differs', `${API}/x`, `${API}/X`, false),
  one('query and fragment ignored', `${API}/x`, `${API}/x?y=1#z`, true),
  one('path-looking fragment', `${API}/x`, `${API}/x#/../admin`, true),
  one('path-looking query at root', `${API}/x`, `${API}?/x`, false),
  one('redirect in query', `${API}/x`, `${API}/x?next=https://evil.net/`, true),
  one('userinfo-looking fragment', API, 'https://api.example.com#@evil.net', true),
  one('userinfo-looking query', API, 'https://api.example.com?@evil.net', true),

  // Dot segments and encoded separators.
  one('.. out of a subtree', `${API}/public/{p:path}`, `${API}/public/../admin`, false),
  one('%2e%2e out of a subtree', `${API}/public/{p:path}`, `${API}/public/%2e%2e/admin`, false),
  one('%2E%2e out of a subtree', `${API}/public/{p:path}`, `${API}/public/%2E%2e/admin`, false),
  one('.%2e out of a subtree', `${API}/public/{p:path}`, `${API}/public/.%2e/admin`, false),
  one('..%2F in a subtree', `${API}/public/{p:path}`, `${API}/public/..%2Fadmin`, false),
  one('..;/ in a subtree', `${API}/public/{p:path}`, `${API}/public/..;/admin`, false),
  one('resolved .. lands on the entry', `${API}/admin`, `${API}/public/../admin`, true),
  one('single dot segment', `${API}/a/b`, `${API}/a/./b`, true),
  one('%2e resolves to nothing', `${API}/public/{id}`, `${API}/public/%2e`, false),
  one('%2F in a {name}', `${API}/files/{id}`, `${API}/files/a%2Fb`, false),
  one('%2f (lower case) in a {name}', `${API}/files/{id}`, `${API}/files/a%2fb`, false),
  one('%5C in a {name}', `${API}/files/{id}`, `${API}/files/a%5Cb`, false),
  one('encoded slash is not a boundary', `${API}/a/b`, `${API}/a%2Fb`, false),
  one('real slash is not an encoded one', `${API}/a%2Fb`, `${API}/a/b`, false),
  one('escape hex case', `${API}/a%2fb`, `${API}/a%2Fb`, true),

  // Backslashes: WHATWG reads them as `/`, other parsers do not.
  one('backslash before @', API, 'https://api.example.com\\@evil.net/', false),
  one('backslash in path', `${API}/a/{p:path}`, 'https://api.example.com/a\\b', false),
  one('backslashes for slashes', API, 'https:\\\\api.example.com/', false),
  one('backslash in a segment', `${API}/a/{id}`, 'https://api.example.com/a/x\\..\\..\\admin', false),

  // Whitespace and control characters: WHATWG deletes tab/CR/LF, others do not.
  one('tab inside host', API, 'https://api.exa\tmple.com/', false),
  one('newline inside path', `${API}/admin`, 'https://api.example.com/ad\nmin', false),
  one('CRLF at the end', `${API}/x`, 'https://api.example.com/x\r\n', false),
  one('leading space', API, ' https://api.example.com', false),
  one('NUL in path', `${API}/{p:path}`, 'https://api.example.com/a\u0000b', false),
  one('newline before @', API, 'https://evil.net\n@api.example.com/', false),

  // Trailing dots.
  one('trailing dot on URL host', API, 'https://api.example.com./', true),
  one('two trailing dots', API, 'https://api.example.com../', false),
  one('trailing dot on entry host', 'https://api.example.com.', API, true),
  one('empty label', API, 'https://api..example.com/', false),

  // IDN.
  one('unicode entry, punycode URL', 'https://bücher.example/', 'https://xn--bcher-kva.example/', true),
  one('punycode entry, unicode URL', 'https://xn--bcher-kva.example', 'https://BÜCHER.example', true),
  one('accent dropped', 'https://bucher.example', 'https://bücher.example', false),
  one('Cyrillic homoglyph', API, 'https://\u0430pi.example.com/', false),
  one('fullwidth letters map to ASCII', API, 'https://\uff41\uff50\uff49.example.com/', true),
  one('ideographic full stops', API, 'https://api\u3002example\u3002com/', true),
  one('ideographic full stop suffix', API, 'https://api.example.com\u3002evil.net/', false),

  // Unicode look-alikes of delimiters: IDNA maps them to ASCII, WHATWG then refuses the host.
  one('fullwidth solidus in host', API, 'https://evil.net\uff0f.api.example.com/', false),
  one('fullwidth @ in host', API, 'https://api.example.com\uff20evil.net/', false),
  one('fullwidth colon as port', `${API}:8443`, 'https://api.example.com\uff1a8443/', false),
  one('account-of sign (a/c) in host', API, 'https://api.example.com\u2100evil.net/', false),
  // IDNA deletes soft hyphens and zero-width spaces: every WHATWG client goes to the same host.
  one('soft hyphen in host', API, 'https://api.exa\u00admple.com/', true),
  one('zero-width space in host', API, 'https://api.exa\u200bmple.com/', true),

  // IPv4 and IPv6 literals.
  one('IPv4 as one number', 'http://127.0.0.1:8080/x', 'http://2130706433:8080/x', true),
  one('IPv4 in hex', 'http://127.0.0.1:8080/x', 'http://0x7f.0.0.1:8080/x', true),
  one('IPv4 short form', 'http://127.0.0.1:8080/x', 'http://127.1:8080/x', true),
  one('IPv4 as a subdomain', 'http://127.0.0.1:8080/x', 'http://127.0.0.1.nip.io:8080/x', false),
  one('IPv4 prefix', 'http://10.0.0.1', 'http://10.0.0.10/', false),
  one('IPv6 long form', 'http://[::1]:3000/x', 'http://[0:0:0:0:0:0:0:1]:3000/x', true),
  one('IPv6 upper case', 'http://[2001:DB8::1]/', 'http://[2001:db8::1]', true),
  one('IPv6 followed by a domain', 'http://[::1]', 'http://[::1].evil.net/', false),
  one('IPv4-mapped IPv6 is another host', 'http://[::ffff:127.0.0.1]/', 'http://127.0.0.1/', false),

  // Empty segments are kept.
  one('double slash before segment', `${API}/x`, `${API}//x`, false),
  one('entry with double slash', `${API}//x`, `${API}/x`, false),
  one('double slash both sides', `${API}//x`, `${API}//x`, true),
  one('empty segment for {name}', `${API}/x/{id}/y`, `${API}/x//y`, false),
  one('only slashes after prefix', `${API}/x/{id}`, `${API}/x//`, false),

  // Templates.
  one('{name} at the end', `${API}/users/{id}`, `${API}/users/42`, true),
  one('{name} needs a segment', `${API}/users/{id}`, `${API}/users`, false),
  one('{name} is one segment', `${API}/users/{id}`, `${API}/users/42/posts`, false),
  one('{name} in the middle', `${API}/users/{id}/posts`, `${API}/users/42/posts`, true),
  one('{name} in the middle spans no slash', `${API}/users/{id}/posts`, `${API}/users/4/2/posts`, false),
  one('{rest:path} subtree', `${API}/files/{rest:path}`, `${API}/files/a/b/c`, true),
  one('{rest:path} needs a segment', `${API}/files/{rest:path}`, `${API}/files`, false),
  one('{rest:path} with trailing slash only', `${API}/files/{rest:path}`, `${API}/files/`, false),
  one('{rest:path} segment prefix', `${API}/files/{rest:path}`, `${API}/filesystem/a`, false),
  one('{rest:path} on another host', `${API}/files/{rest:path}`, 'https://evil.net/files/a', false),
  one('{rest:path} keeps empty segments inside', `${API}/files/{rest:path}`, `${API}/files//a`, true),
  one('braces in the URL are data', `${API}/users/{id}`, `${API}/users/{id}`, true),
  one('encoded braces in an entry are literal', `${API}/users/%7Bid%7D`, `${API}/users/42`, false),
  one('query does not fill a {name}', `${API}/q/{id}`, `${API}/q/?id=1`, false),

  // Encoded host characters and canonical escapes.
  one('percent-encoded host letter', API, 'https://api.ex%61mple.com/', false),
  one('percent-encoded host dot', API, 'https://api%2eexample.com/', false),
  one('encoded unreserved in path', `${API}/~user`, `${API}/%7Euser`, true),
  one('encoded letters in path', `${API}/users`, `${API}/%75sers`, true),
  one('unicode path', `${API}/caf%C3%A9`, `${API}/café`, true),

  // Not URLs at all.
  one('empty string', API, '', false),
  one('no scheme', API, 'api.example.com', false),
  one('path only', `${API}/x`, '/x', false),
  one('protocol-relative', API, '//api.example.com/', false),
  one('javascript scheme', API, 'javascript:fetch("https://api.example.com")', false),

  // Precedence: the most specific entry wins, whatever the order.
  {
    name: 'exact beats {name}',
    registered: [`${API}/users/{id}`, `${API}/users/me`],
    url: `${API}/users/me`,
    expected: `${API}/users/me`,
  },
  {
    name: '{name} beats {rest:path}',
    registered: [`${API}/users/{rest:path}`, `${API}/users/{id}`],
    url: `${API}/users/1`,
    expected: `${API}/users/{id}`,
  },
  {
    name: 'only {rest:path} fits two segments',
    registered: [`${API}/users/{id}`, `${API}/users/{rest:path}`],
    url: `${API}/users/1/2`,
    expected: `${API}/users/{rest:path}`,
  },
  {
    name: 'deeper literal beats a shallow subtree',
    registered: [`${API}/{p:path}`, `${API}/users/{id}`],
    url: `${API}/users/1`,
    expected: `${API}/users/{id}`,
  },
  {
    name: 'literal earlier in the path wins',
    registered: [`${API}/{a}/b`, `${API}/a/{b}`],
    url: `${API}/a/b`,
    expected: `${API}/a/{b}`,
  },
  {
    name: 'falls back from literal branch to param branch',
    registered: [`${API}/a/b/c`, `${API}/{x}/b/d`],
    url: `${API}/a/b/d`,
    expected: `${API}/{x}/b/d`,
  },
  {
    name: 'none of several hosts',
    registered: [API, 'https://example.com', 'https://api.example.net'],
    url: 'https://api.example.com.example.com/',
    expected: null,
  },
];
