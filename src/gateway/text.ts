/**
 * Whether PostgreSQL can keep a string: text and jsonb refuse U+0000, and a lone UTF-16
 * surrogate has no UTF-8 form. (In a `u` regexp a surrogate PAIR is one code point, so only
 * lone halves match \p{Surrogate}.)
 */
export function isStorableText(s: string): boolean {
  return !s.includes('\u0000') && !/\p{Surrogate}/u.test(s);
}
