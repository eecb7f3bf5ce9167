import {
  dateRange,
  decodeCursor,
  encodeCursor,
  matchesLastUpdated,
  parseCount,
  parseLastUpdated,
} from '../../functions/core/search-params';

describe('C24/C25 parameter parsing', () => {
  test('C25: FHIR dates cover their precision as a half-open range, in UTC', () => {
    expect(dateRange('2024')).toEqual({ lo: '2024-01-01T00:00:00.000Z', hi: '2025-01-01T00:00:00.000Z' });
    expect(dateRange('2024-02')).toEqual({ lo: '2024-02-01T00:00:00.000Z', hi: '2024-03-01T00:00:00.000Z' });
    expect(dateRange('2024-02-29')).toEqual({
      lo: '2024-02-29T00:00:00.000Z',
      hi: '2024-03-01T00:00:00.000Z',
    });
    expect(dateRange('2024-03-01T10:00:00+01:00')).toEqual({
      lo: '2024-03-01T09:00:00.000Z',
      hi: '2024-03-01T09:00:01.000Z',
    });
    expect(dateRange('2024-03-01T10:00:00.12Z')).toEqual({
      lo: '2024-03-01T10:00:00.120Z',
      hi: '2024-03-01T10:00:00.130Z',
    });
    expect(dateRange('2024-03-01T10:00:00.123Z')!.hi).toBe('2024-03-01T10:00:00.124Z');
    expect(dateRange('9999')!.hi).toBe('9999-12-31T23:59:59.999Z');
    for (const bad of ['2023-02-29', '2024-13', '24-01-01', 'yesterday', '2024-01-01T25:00:00Z', ''])
      expect([bad, dateRange(bad)]).toEqual([bad, undefined]);
  });

  test('C25: _lastUpdated prefixes against an instant, ANDed when repeated', () => {
    const f = parseLastUpdated(['ge2024-01', 'lt2024-03', 'ne2024-02-10']);
    expect(f).toMatchObject({
      since: '2024-01-01T00:00:00.000Z',
      before: '2024-03-01T00:00:00.000Z',
      empty: false,
    });
    expect(matchesLastUpdated(f, '2024-02-10T12:00:00.000Z')).toBe(false);
    expect(matchesLastUpdated(f, '2024-02-11T00:00:00.000Z')).toBe(true);
    expect(matchesLastUpdated(f, '2024-03-01T00:00:00.000Z')).toBe(false);
    expect(parseLastUpdated(['gt2024-01-01']).since).toBe('2024-01-02T00:00:00.000Z');
    expect(parseLastUpdated(['sa2024-01-01']).since).toBe('2024-01-02T00:00:00.000Z');
    expect(parseLastUpdated(['le2024-01-01']).before).toBe('2024-01-02T00:00:00.000Z');
    expect(parseLastUpdated(['eb2024-01-01']).before).toBe('2024-01-01T00:00:00.000Z');
    expect(parseLastUpdated(['gt2024', 'lt2024-06']).empty).toBe(true);
    expect(() => parseLastUpdated(['xx2024'])).toThrow(/prefix/);
    expect(() => parseLastUpdated(['2024,2025'])).toThrow(/comma/);
  });

  test('C24: _count default 50, capped at 1000, malformed rejected; cursors round-trip and reject junk', () => {
    expect(parseCount(undefined)).toBe(50);
    expect(parseCount('1001')).toBe(1000);
    expect(parseCount('0')).toBe(0);
    expect(() => parseCount('-1')).toThrow(/_count/);
    expect(() => parseCount('1e3')).toThrow(/_count/);
    const pos = '2024-01-01T00:00:00.000Z#abc';
    expect(decodeCursor(encodeCursor(pos), /^[\x21-\x7e]+$/)).toBe(pos);
    expect(() => decodeCursor(encodeCursor('12x'), /^\d+$/)).toThrow(/cursor/);
    expect(() => decodeCursor('a+b/', /./)).toThrow(/cursor/);
  });
});
