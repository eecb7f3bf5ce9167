import { capabilityStatement, interactionOf, operationOf } from '../../functions/core/capabilities';

const B = '/organizations/{organizationId}/fhir/4';

describe('C27 capability derivation', () => {
  test('C27: routes added later ($upload, $export) appear as operations; removed ones disappear', () => {
    const routes = [
      { method: 'GET', path: `${B}/Binary/{id}` },
      { method: 'POST', path: `${B}/Binary/$upload` },
      { method: 'POST', path: `${B}/Binary/{id}/$upload` },
      { method: 'GET', path: `${B}/Binary/$export` },
    ];
    const cs = capabilityStatement(routes, 'https://x/organizations/o/fhir/4');
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

  test('C27: method and path decide the interaction', () => {
    expect(interactionOf({ method: 'POST', path: `${B}/Binary/_search` })).toBe('search-type');
    expect(interactionOf({ method: 'GET', path: `${B}/Binary/_history` })).toBe('history-type');
    expect(interactionOf({ method: 'HEAD', path: `${B}/Binary/{id}` })).toBeUndefined();
    expect(operationOf({ method: 'GET', path: `${B}/Binary/$upload/{uploadId}` })).toBe('upload');
  });
});
