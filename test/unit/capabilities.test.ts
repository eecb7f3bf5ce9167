import { capabilityStatement } from '../../functions/core/capabilities';
import { operations } from '../../functions/routes';

describe('C27 capability derivation', () => {
  test('C27: operations added later ($upload, $export) appear as operations; removed ones disappear', () => {
    const ops = [
      { capability: { interaction: 'read' as const } },
      { capability: { operation: 'upload' } },
      { capability: { operation: 'upload' } },
      { capability: { operation: 'export' } },
      {},
    ];
    const cs = capabilityStatement(ops, 'https://x/organizations/o/fhir/4');
    const binary = cs.rest![0]!.resource![0]!;
    expect(binary.interaction).toEqual([{ code: 'read' }]);
    expect(binary.operation!.map((o) => o.name)).toEqual(['export', 'upload']);
    // Each links the OperationDefinition the server serves below its base (#12.6).
    expect(binary.operation![1]!.definition).toBe(
      'https://x/organizations/o/fhir/4/OperationDefinition/Binary-upload',
    );
    expect(binary.searchParam).toBeUndefined();
    expect(cs.patchFormat).toEqual([]);
    expect(binary.updateCreate).toBe(false);
  });

  test('C27: every protected operation of the table declares its CapabilityStatement entry', () => {
    expect(operations.filter((o) => !o.capability && o.permission !== 'public')).toEqual([]);
    expect(operations.find((o) => o.name === 'read')!.capability).toEqual({ interaction: 'read' });
  });
});
