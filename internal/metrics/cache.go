package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/nri-seccomp/nri-seccomp/internal/engine/cache"
)

var (
	cacheEntries = prometheus.NewDesc(namespace+"_cache_entries",
		"Entries held by each cache on the decision path (decisions, outcomes, models, written, nri-sections).",
		[]string{"cache"}, nil)
	cacheHits = prometheus.NewDesc(namespace+"_cache_hits_total",
		"Lookups answered by each cache on the decision path. The engine's caches start again at zero when a new policy is loaded.",
		[]string{"cache"}, nil)
	cacheMisses = prometheus.NewDesc(namespace+"_cache_misses_total",
		"Lookups each cache on the decision path could not answer (the value was computed).",
		[]string{"cache"}, nil)
)

// cacheCollector reads the caches' sizes and counters at scrape time.
type cacheCollector struct{ stats func() []cache.Stats }

func (c cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- cacheEntries
	ch <- cacheHits
	ch <- cacheMisses
}

func (c cacheCollector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.stats() {
		ch <- prometheus.MustNewConstMetric(cacheEntries, prometheus.GaugeValue, float64(st.Len), st.Name)
		ch <- prometheus.MustNewConstMetric(cacheHits, prometheus.CounterValue, float64(st.Hits), st.Name)
		ch <- prometheus.MustNewConstMetric(cacheMisses, prometheus.CounterValue, float64(st.Misses), st.Name)
	}
}

// Caches exports the caches stats reports, read at every scrape. Call it
// once.
func (m *Metrics) Caches(stats func() []cache.Stats) {
	if m == nil {
		return
	}
	m.reg.MustRegister(cacheCollector{stats})
}
