import { exerciseStore } from '../../src/store/conformance/exercise-store.ts';
import { mysqlTestStore } from './sql-test-stores.ts';
exerciseStore('mysql', () => mysqlTestStore());
