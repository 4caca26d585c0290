import { serveWorkerTasks } from '../src/worker-pool';

serveWorkerTasks<number, number, { offset: number }>(async (n, data) => {
  if (n < 0) throw new Error(`negative input ${n}`);
  // Finish out of order so the pool's reordering is exercised.
  await new Promise((resolve) => setTimeout(resolve, (n * 7) % 5));
  return n * n + data.offset;
});
