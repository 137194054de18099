/** Types for parse-prometheus-text-format (the package ships none), as the metrics tests use it. */
declare module 'parse-prometheus-text-format' {
  /** A sample of a counter, gauge or untyped metric. */
  interface PromSample {
    value: string;
    labels?: Record<string, string>;
  }
  /** A sample of a histogram. */
  interface PromHistogramSample {
    buckets: Record<string, string>;
    count: string;
    sum: string;
    labels?: Record<string, string>;
  }
  /** One metric family. */
  interface PromFamily {
    name: string;
    help: string;
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    metrics: (PromSample | PromHistogramSample)[];
  }
  export default function parsePrometheusTextFormat(text: string): PromFamily[];
}
