/**
 * A URL as it may be printed: a `user:password@` part becomes `***@`, a query `?***` and a
 * fragment `#***` (a base URL can carry a key as `?api_key=…`); scheme, host, port and path stay.
 * A value that does not parse as a URL is masked the same way by its text.
 *
 * @example maskUrl('http://user:pass@h/v1?api_key=SECRET') // 'http://***@h/v1?***'
 */
export function maskUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return value
      .replace(/\/\/[^/?#]*@/, '//***@')
      .replace(/\?[^#]*/, '?***')
      .replace(/#.*$/s, '#***');
  }
  const hasUser = url.username !== '' || url.password !== '';
  const hasQuery = url.search !== '' || value.includes('?');
  const hasFragment = url.hash !== '' || value.includes('#');
  if (!hasUser && !hasQuery && !hasFragment) return value;
  // Rebuilt from parts rather than from `url.href`, so nothing but what is listed here comes through.
  const authority = url.host === '' ? '' : `//${hasUser ? '***@' : ''}${url.host}`;
  // `http://h?x` parses with the path `/`: keep the text's own (absent) path.
  const pathname = url.pathname === '/' && !/^[a-z][\w+.-]*:\/\/[^/?#]*\//i.test(value) ? '' : url.pathname;
  return `${url.protocol}${authority}${pathname}${hasQuery ? '?***' : ''}${hasFragment ? '#***' : ''}`;
}
