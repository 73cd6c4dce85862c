import { describe, expect, it } from 'vitest';
import { xmlProblems } from './xml.js';

// The checker is only worth something if it rejects broken documents.
describe('xmlProblems (test helper)', () => {
  it('accepts well-formed XML and rejects broken XML', () => {
    expect(xmlProblems('<svg a="1"><g><path d="M0 0"/></g><text>a &amp; b</text></svg>')).toEqual([]);
    expect(xmlProblems('<svg><g></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg><text>a & b</text></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg><text>a < b</text></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg a=1></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg a="1" a="2"></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg/><svg/>')).not.toEqual([]);
  });
});
