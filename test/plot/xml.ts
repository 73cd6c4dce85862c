/**
 * A small XML well-formedness checker for the tests: balanced, properly nested tags, quoted attributes,
 * no raw '<' or stray '&' in text or attribute values. Returns the list of problems (empty when well formed).
 */
export function xmlProblems(xml: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  const entity = /&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;
  const checkText = (t: string, where: string) => {
    if (t.includes('<')) problems.push(`raw '<' in ${where}`);
    if (t.replace(entity, '').includes('&')) problems.push(`stray '&' in ${where}: ${t.slice(0, 40)}`);
  };
  let i = 0;
  let roots = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = lt < 0 ? xml.slice(i) : xml.slice(i, lt);
    if (stack.length === 0 && text.trim()) problems.push(`text outside the root: ${text.trim().slice(0, 40)}`);
    checkText(text, 'text');
    if (lt < 0) break;
    if (xml.startsWith('<!--', lt)) {
      const end = xml.indexOf('-->', lt);
      if (end < 0) return [...problems, 'unclosed comment'];
      i = end + 3;
      continue;
    }
    const gt = xml.indexOf('>', lt);
    if (gt < 0) return [...problems, 'unclosed tag'];
    const tag = xml.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith('?')) continue;
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open}>`);
      continue;
    }
    const selfClosing = tag.endsWith('/');
    const m = /^([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*\s*=\s*"[^"]*")*)\s*\/?$/.exec(tag);
    if (!m) {
      problems.push(`malformed tag <${tag.slice(0, 60)}>`);
      continue;
    }
    const attrNames = [...m[2].matchAll(/([A-Za-z_][\w:.-]*)\s*=\s*"([^"]*)"/g)].map((a) => {
      checkText(a[2], `attribute ${a[1]}`);
      return a[1];
    });
    if (new Set(attrNames).size !== attrNames.length) problems.push(`duplicate attribute in <${m[1]}>`);
    if (stack.length === 0) roots++;
    if (!selfClosing) stack.push(m[1]);
  }
  if (stack.length) problems.push(`unclosed: ${stack.join(' > ')}`);
  if (roots !== 1) problems.push(`expected one root element, found ${roots}`);
  return problems;
}
