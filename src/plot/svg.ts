/** Escapes text for an XML text node or a double- or single-quoted attribute. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[ch]!);
}

/** A pixel coordinate, rounded to 0.01 px: short and byte-for-byte reproducible output. */
export function px(v: number): string {
  const r = Math.round(v * 100) / 100;
  return String(r === 0 ? 0 : r);
}

/** Builds `<name a="…" …>children</name>` (self-closing without children); attribute values are escaped, undefined ones left out. */
export function el(name: string, attrs: Record<string, string | number | undefined>, children?: string): string {
  const a = Object.entries(attrs)
    .filter((e): e is [string, string | number] => e[1] !== undefined)
    .map(([k, v]) => ` ${k}="${escapeXml(typeof v === 'number' ? px(v) : v)}"`)
    .join('');
  return children === undefined ? `<${name}${a}/>` : `<${name}${a}>${children}</${name}>`;
}

/** Rough width of `text` in px at `fontSize` for a sans-serif font: layout only needs an upper-ish bound. */
export function textWidth(text: string, fontSize: number): number {
  return text.length * fontSize * 0.6;
}
