// Shared pieces of the console: a live resource hook, a confirmation dialog, a uPlot sparkline, formatting.
import { useEffect, useRef, useState } from "preact/hooks";
import type { ComponentChildren } from "preact";
import uPlot from "uplot";
import { api, ApiFailure, can, onEvent, type Role } from "./api.ts";

export interface Resource<T> {
  data?: T | undefined;
  error?: ApiFailure | Error | undefined;
  /** The subsystem is absent on this agent (its routes answer 404 "no route"). */
  absent: boolean;
  reload: () => void;
}

/** Fetches `path`, then again every `everyMs` and soon after any event whose type starts with one of `prefixes`. */
export function useResource<T>(path: string, everyMs: number, prefixes: readonly string[] = []): Resource<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiFailure | Error; absent: boolean }>({ absent: false });
  const tick = useRef(0);
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    let alive = true;
    let soon: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      const mine = ++tick.current;
      try {
        const data = await api<T>(path);
        if (alive && mine === tick.current) setState({ data, absent: false });
      } catch (e) {
        if (!alive || mine !== tick.current) return;
        const absent = e instanceof ApiFailure && e.status === 404 && /no route/.test(e.message);
        setState((s) => ({ ...s, error: e as Error, absent }));
      }
    };
    void load();
    const timer = setInterval(load, everyMs);
    // Events come in bursts (a scale starts several replicas): one reload shortly after the burst.
    const off = onEvent((e) => {
      if (!prefixes.some((p) => e.type.startsWith(p))) return;
      clearTimeout(soon);
      soon = setTimeout(load, 150);
    });
    return () => {
      alive = false;
      clearInterval(timer);
      clearTimeout(soon);
      off();
    };
  }, [path, everyMs, nonce]);
  return { ...state, reload: () => setNonce((n) => n + 1) };
}

export function NotConfigured({ what }: { what: string }) {
  return <p class="empty" role="status">{what} is not configured on this agent.</p>;
}

export function Problem({ error }: { error: Error | undefined }) {
  return error ? <p class="problem" role="alert">{error.message}</p> : null;
}

interface Pending {
  title: string;
  detail: string;
  run: () => Promise<unknown>;
}
let openConfirm: ((p: Pending) => void) | undefined;

/** One dialog for every action: it says what will happen, runs it on confirm and shows the agent's answer. */
export function ConfirmHost() {
  const ref = useRef<HTMLDialogElement>(null);
  const [pending, setPending] = useState<Pending | undefined>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  openConfirm = (p) => {
    setPending(p);
    setError(undefined);
    ref.current?.showModal();
  };
  const confirm = async () => {
    if (!pending) return;
    setBusy(true);
    try {
      await pending.run();
      ref.current?.close();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onClose={() => setPending(undefined)}>
      <h2 id="confirm-title">{pending?.title}</h2>
      <p>{pending?.detail}</p>
      {error && <p class="problem" role="alert">{error}</p>}
      <div class="row">
        <button type="button" class="primary" disabled={busy} onClick={confirm}>
          Confirm
        </button>
        <button type="button" onClick={() => ref.current?.close()}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}

/** A button that needs `role`: disabled (with the reason as its title) when the session's role is lower. */
export function Action(props: { role: Role; label: string; title: string; detail: string; run: () => Promise<unknown>; children?: ComponentChildren }) {
  const allowed = can(props.role);
  return (
    <button
      type="button"
      aria-label={props.label}
      title={allowed ? props.label : `needs the ${props.role} role`}
      disabled={!allowed}
      onClick={() => openConfirm?.({ title: props.title, detail: props.detail, run: props.run })}
    >
      {props.children ?? props.label}
    </button>
  );
}

/** A small time series (uPlot); `values` newest last. */
export function Spark({ values, label, max }: { values: readonly number[]; label: string; max?: number }) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  useEffect(() => {
    if (!el.current) return;
    // A canvas does not resolve currentColor: take the colour the stylesheet gave the box (light or dark scheme).
    const stroke = getComputedStyle(el.current).color;
    plot.current = new uPlot(
      {
        width: 120,
        height: 28,
        class: "spark",
        legend: { show: false },
        cursor: { show: false },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
        axes: [{ show: false }, { show: false }],
        scales: { x: { time: false }, y: { range: (_u, lo, hi) => [Math.min(0, lo), Math.max(max ?? 0, hi, 1)] } },
        series: [{}, { stroke, width: 1.5, fill: "rgba(80,140,220,0.18)", points: { show: false } }],
      },
      [[], []],
      el.current,
    );
    return () => plot.current?.destroy();
  }, []);
  useEffect(() => {
    plot.current?.setData([values.map((_, i) => i), values.slice()]);
  }, [values]);
  const last = values.length > 0 ? values[values.length - 1]! : undefined;
  return <div ref={el} class="spark-box" role="img" aria-label={`${label}: ${last === undefined ? "no data yet" : last.toFixed(1)}`} />;
}

/** Keeps the last `n` values of a series per key across renders. */
export function useSeries(n = 60) {
  const store = useRef(new Map<string, { values: number[]; at: number }>());
  return (key: string, value: number | undefined): number[] => {
    let s = store.current.get(key);
    if (!s) store.current.set(key, (s = { values: [], at: 0 }));
    // One point per poll: a render for another reason (a scroll, a keystroke) within the poll interval adds none.
    const now = performance.now();
    if (value !== undefined && Number.isFinite(value) && now - s.at >= MIN_POINT_MS) {
      s.values.push(value);
      s.at = now;
      if (s.values.length > n) s.values.shift();
    }
    return s.values.slice();
  };
}
/** Below the fastest poll (every 2 s), above a burst of renders. */
const MIN_POINT_MS = 900;

export const fmtBytes = (b: number) => (b >= 1 << 30 ? `${(b / (1 << 30)).toFixed(1)} GiB` : b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MiB` : `${Math.round(b / 1024)} KiB`);
export function fmtDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "–";
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}
export const fmtTime = (ms: number) => new Date(ms).toLocaleTimeString();

export function Badge({ value }: { value: string }) {
  return <span class={`badge s-${value.replace(/[^a-z-]/g, "")}`}>{value}</span>;
}

export interface ChartSeries {
  label: string;
  values: ReadonlyArray<number | null>;
  /** A CSS colour or custom property (`--accent`); canvases need the resolved value. */
  color: string;
  dash?: number[];
  stepped?: boolean;
  points?: boolean;
}

/**
 * A time chart (uPlot): `x` in seconds, one line per series, optional bands between two series (indexes into
 * `series`, upper first), and `onHover` with the index under the cursor (null when it leaves).
 */
export function TimeChart(props: { x: readonly number[]; series: readonly ChartSeries[]; bands?: ReadonlyArray<[number, number]>; label: string; height?: number; onHover?: (i: number | null) => void; yMin?: number }) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const hover = useRef(props.onHover);
  hover.current = props.onHover;
  const shape = props.series.map((s) => s.label).join("|");
  useEffect(() => {
    const box = el.current;
    if (!box) return;
    const css = getComputedStyle(box);
    const color = (c: string) => (c.startsWith("--") ? css.getPropertyValue(c).trim() || "#888" : c);
    const stepped = uPlot.paths.stepped?.({ align: 1 });
    const u = new uPlot(
      {
        width: Math.max(320, box.clientWidth || 800),
        height: props.height ?? 180,
        legend: { show: true, live: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (_u, lo, hi) => [Math.min(props.yMin ?? 0, lo), Math.max(hi, (props.yMin ?? 0) + 1)] } },
        axes: [{ stroke: css.color, grid: { stroke: color("--line") } }, { stroke: css.color, grid: { stroke: color("--line") } }],
        series: [
          {},
          ...props.series.map((s) => ({
            label: s.label,
            stroke: color(s.color),
            width: 1.5,
            ...(s.dash ? { dash: s.dash } : {}),
            ...(s.stepped && stepped ? { paths: stepped } : {}),
            points: { show: s.points ?? false, size: 7 },
          })),
        ],
        ...(props.bands ? { bands: props.bands.map(([a, b]) => ({ series: [a + 1, b + 1] as [number, number], fill: "rgba(80,140,220,0.15)" })) } : {}),
        hooks: { setCursor: [(p: uPlot) => hover.current?.(p.cursor.idx ?? null)] },
      },
      [[], ...props.series.map(() => [])] as unknown as uPlot.AlignedData,
      box,
    );
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: Math.max(320, box.clientWidth || 800), height: props.height ?? 180 }));
    resize.observe(box);
    return () => {
      resize.disconnect();
      u.destroy();
    };
  }, [shape]);
  useEffect(() => {
    plot.current?.setData([props.x.slice(), ...props.series.map((s) => s.values.slice())] as unknown as uPlot.AlignedData);
  }, [props.x, props.series, shape]);
  return <div ref={el} class="chart" role="img" aria-label={props.label} />;
}

/**
 * Windowing for long tables: of `count` rows of (about) `rowHeight` px, the ones inside the scrolling box `box`
 * plus `overscan` either side, and the space the others would take, so the scrollbar stays true.
 */
export function useWindow(count: number, rowHeight: number, overscan = 10) {
  const box = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 600 });
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let frame = 0;
    const read = () => {
      frame = 0;
      setView((v) => (v.top === el.scrollTop && v.height === el.clientHeight ? v : { top: el.scrollTop, height: el.clientHeight }));
    };
    // One read per frame however fast the wheel turns.
    const onScroll = () => {
      if (!frame) frame = requestAnimationFrame(read);
    };
    read();
    el.addEventListener("scroll", onScroll, { passive: true });
    const resize = new ResizeObserver(onScroll);
    resize.observe(el);
    return () => {
      el.removeEventListener("scroll", onScroll);
      resize.disconnect();
      if (frame) cancelAnimationFrame(frame);
    };
  }, []);
  // The estimate is corrected by the first rendered row (data-vrow): fonts and themes move it by a pixel or two.
  const [measured, setMeasured] = useState(rowHeight);
  useEffect(() => {
    const h = box.current?.querySelector("[data-vrow]")?.getBoundingClientRect().height;
    if (h && Math.abs(h - measured) > 0.5) setMeasured(h);
  });
  rowHeight = measured;
  const start = Math.max(0, Math.floor(view.top / rowHeight) - overscan);
  const end = Math.min(count, Math.ceil((view.top + view.height) / rowHeight) + overscan);
  return { box, start, end, padTop: start * rowHeight, padBottom: (count - end) * rowHeight };
}
