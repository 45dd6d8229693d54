import { exerciseStore } from '../../src/store/conformance/exercise-store.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
exerciseStore('sqlite', async () => createSqliteStore({ path: ':memory:' }));
