// The scaler's series: per-second rings averaged over a window, and buckets of app-level totals.
import { expect, test } from "bun:test";
import { createBucketSeries } from "../../../src/scaler/bucket-series.ts";
import { createSecondRing } from "../../../src/scaler/second-ring.ts";

test("the ring averages the seconds inside the window only", () => {
  const ring = createSecondRing(60);
  for (let s = 0; s < 100; s++) ring.put(s, s < 90 ? 1 : 10);
  expect(ring.mean(99, 10)).toBe(10);
  expect(ring.mean(99, 20)).toBe(5.5);
  expect(ring.last).toBe(99);
});

test("overwritten seconds do not leak into a later window", () => {
  const ring = createSecondRing(10);
  ring.put(3, 7);
  expect(ring.mean(3, 5)).toBe(7);
  expect(ring.mean(13, 5)).toBeNaN();
});

test("buckets hold the mean per-second total across replicas, gaps repeat the previous level", () => {
  const b = createBucketSeries(10, 100);
  for (let s = 0; s < 10; s++) for (const v of [1, 2]) b.add(s, v); // bucket 0: 3 per second
  for (let s = 10; s < 20; s++) b.add(s, 5); // bucket 1: 5
  // bucket 2 empty, bucket 3 in progress
  b.add(30, 9);
  expect(b.completed(35)).toEqual([3, 5, 5]);
});

test("samples arriving replica by replica still sum per second", () => {
  const b = createBucketSeries(10, 100);
  for (const v of [1, 2]) for (let s = 0; s < 10; s++) b.add(s, v);
  expect(b.completed(10)).toEqual([3]);
});
