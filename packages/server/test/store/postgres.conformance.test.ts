import { exerciseStore } from '../../src/store/conformance/exercise-store.ts';
import { postgresTestStore } from './sql-test-stores.ts';
exerciseStore('postgres', () => postgresTestStore());
