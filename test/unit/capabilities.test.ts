import { capabilityStatement } from '../../functions/core/capabilities';
import { operations } from '../../functions/routes';

describe('C27 capability derivation', () => {
  test('C27: operations added later ($upload, $export) appear as operations; removed ones disappear', () => {
    const ops = [
      { capability: { interaction: 'read' as const } },
      { capability: { operation: 'upload' } },
      { capability: { operation: 'upload' } },
      {
        capability: {
          operation: 'export',
          definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export',
        },
      },
      {},
    ];
    const cs = capabilityStatement(ops, 'https://x/organizations/o/fhir/4');
    const binary = cs.rest![0]!.resource![0]!;
    expect(binary.interaction).toEqual([{ code: 'read' }]);
    expect(binary.operation!.map((o) => o.name)).toEqual(['export', 'upload']);
    expect(binary.operation![0]!.definition).toBe(
      'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export',
    );
    expect(binary.operation![1]!.definition).toBe(
      'https://x/organizations/o/fhir/4/OperationDefinition/Binary-upload',
    );
    expect(binary.searchParam).toBeUndefined();
    expect(cs.patchFormat).toEqual([]);
    expect(binary.updateCreate).toBe(false);
  });

  test('C27: every operation of the table but metadata declares its CapabilityStatement entry', () => {
    expect(operations.filter((o) => !o.capability).map((o) => o.name)).toEqual(['metadata']);
  });
});
