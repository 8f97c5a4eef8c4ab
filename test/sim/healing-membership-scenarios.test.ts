import { sweepHealingFamilies } from './healing-sweep.js';

/** joins, leaves and removes; partitions that heal; the doomstone (the other healing families: healing-repair-scenarios.test.ts) */
sweepHealingFamilies(['membership', 'partition-heal', 'doomstone']);
