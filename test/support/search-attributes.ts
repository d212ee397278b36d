import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../../domain/search-attributes';

const INDEXED_TYPES: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  INT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
};

/** The dev server registers these from its flags; the time-skipping server needs them added. */
export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const searchAttributes = Object.fromEntries(
    Object.values(SEARCH_ATTRIBUTES).map((key) => [key.name, INDEXED_TYPES[key.type] as temporal.api.enums.v1.IndexedValueType]),
  );
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
}
