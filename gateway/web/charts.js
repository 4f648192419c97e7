// Thin wrappers over TradingView Lightweight Charts (the standalone build, loaded by index.html
// from vendor/ as the global `LightweightCharts`). The page works without it: when the vendor file
// was not built the chart boxes say so and everything else updates as usual.
//
// Chart times are whole seconds, shifted by the browser's UTC offset so the axis reads local time
// (the library labels times as UTC). Points within one second replace each other; a point older
// than the newest one is drawn at the newest time (series must be ascending).

const LWC = globalThis.LightweightCharts;

export const chartsAvailable = Boolean(LWC && LWC.createChart);

const EQUITY_POINTS = 3600; // an hour of per-second points
const SPARK_POINTS = 300;   // five minutes

function localSeconds(ms) {
  const offsetMin = new Date(ms).getTimezoneOffset();
  return Math.floor(ms / 1000) - offsetMin * 60;
}

function cssVar(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

function baseOptions() {
  return {
    autoSize: true,
    layout: {
      background: { type: 'solid', color: 'transparent' },
      textColor: cssVar('--muted', '#8a94a6'),
      fontSize: 11,
      fontFamily: cssVar('--font', 'system-ui, sans-serif'),
      attributionLogo: false, // attribution is in the page footer (Apache-2.0 NOTICE + link)
    },
    grid: {
      vertLines: { color: cssVar('--grid', 'rgba(128,128,128,0.12)') },
      horzLines: { color: cssVar('--grid', 'rgba(128,128,128,0.12)') },
    },
    rightPriceScale: { borderVisible: false },
    timeScale: { borderVisible: false, timeVisible: true, secondsVisible: true },
  };
}

function unavailable(container) {
  container.classList.add('chart-unavailable');
  container.textContent = 'chart library not built (run gateway/web/build.sh)';
}

// A series with client-side history: append(ms, value), reset().
class SeriesBuffer {
  constructor(series, maxPoints) {
    this.series = series;
    this.maxPoints = maxPoints;
    this.data = [];
  }

  append(ms, value) {
    if (!Number.isFinite(ms) || !Number.isFinite(value)) return;
    let time = localSeconds(ms);
    const last = this.data[this.data.length - 1];
    if (last && time < last.time) time = last.time;
    const point = { time, value };
    if (last && last.time === time) this.data[this.data.length - 1] = point;
    else this.data.push(point);
    if (this.data.length > this.maxPoints * 1.2) {
      this.data = this.data.slice(-this.maxPoints);
      this.series.setData(this.data);
    } else {
      this.series.update(point);
    }
  }

  get length() {
    return this.data.length;
  }
}

// A small line chart without axes, for a price row.
export class Sparkline {
  constructor(container) {
    this.container = container;
    this.buffer = null;
    if (!chartsAvailable) {
      unavailable(container);
      return;
    }
    const opts = baseOptions();
    this.chart = LWC.createChart(container, {
      ...opts,
      grid: { vertLines: { visible: false }, horzLines: { visible: false } },
      rightPriceScale: { visible: false },
      leftPriceScale: { visible: false },
      timeScale: { visible: false, borderVisible: false, rightOffset: 0 },
      crosshair: { vertLine: { visible: false, labelVisible: false },
                   horzLine: { visible: false, labelVisible: false } },
      handleScroll: false,
      handleScale: false,
    });
    const series = this.chart.addLineSeries({
      color: cssVar('--accent', '#3b82f6'),
      lineWidth: 2,
      priceLineVisible: false,
      lastValueVisible: false,
      crosshairMarkerVisible: false,
    });
    this.buffer = new SeriesBuffer(series, SPARK_POINTS);
  }

  // The last few minutes, fitted to the box.
  add(ms, value) {
    if (!this.buffer) return;
    this.buffer.append(ms, value);
    this.chart.timeScale().fitContent();
  }

  dispose() {
    if (this.chart) this.chart.remove();
  }
}

// An equity curve: green above the starting balance, red below.
export class EquityChart {
  constructor(container) {
    this.container = container;
    this.buffer = null;
    this.baseline = null;
    if (!chartsAvailable) {
      unavailable(container);
      return;
    }
    this.chart = LWC.createChart(container, {
      ...baseOptions(),
      handleScroll: false,
      handleScale: false,
    });
    const series = this.chart.addBaselineSeries({
      baseValue: { type: 'price', price: 0 },
      topLineColor: cssVar('--up', '#16a34a'),
      topFillColor1: 'rgba(22, 163, 74, 0.25)',
      topFillColor2: 'rgba(22, 163, 74, 0.02)',
      bottomLineColor: cssVar('--down', '#dc2626'),
      bottomFillColor1: 'rgba(220, 38, 38, 0.02)',
      bottomFillColor2: 'rgba(220, 38, 38, 0.25)',
      lineWidth: 2,
      priceLineVisible: false,
      priceFormat: { type: 'price', precision: 2, minMove: 0.01 },
    });
    this.buffer = new SeriesBuffer(series, EQUITY_POINTS);
  }

  // The starting balance splits the curve into gain (above) and loss (below).
  setBaseline(value) {
    if (!this.buffer || !Number.isFinite(value) || value === this.baseline) return;
    this.baseline = value;
    this.buffer.series.applyOptions({ baseValue: { type: 'price', price: value } });
  }

  add(ms, value) {
    if (!this.buffer) return;
    this.buffer.append(ms, value);
    this.chart.timeScale().fitContent();
  }

  get points() {
    return this.buffer ? this.buffer.length : 0;
  }

  dispose() {
    if (this.chart) this.chart.remove();
  }
}
