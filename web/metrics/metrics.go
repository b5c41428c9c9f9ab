// Package metrics exposes hookhouse's operational numbers in Prometheus format: webhook
// requests by integration and result, records loaded and rejected, batch sizes, commit
// latency and active integrations. Labels carry integration ids, never tokens or schemas'
// contents; only authenticated requests are labelled, so strangers cannot mint series.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/hookhouse/hookhouse/store/warehouse"
)

// Sources are the numbers read at scrape time.
type Sources struct {
	ActiveIntegrations func(ctx context.Context) (int, error) // integrations not paused
	DroppedActivity    func() int64                           // log entries dropped on a full queue
	LiveStreams        func() int                             // dashboard pages listening for arrivals
}

// Metrics is one registry of hookhouse's metrics (no global registry).
type Metrics struct {
	reg           *prometheus.Registry
	requests      *prometheus.CounterVec
	loaded        *prometheus.CounterVec
	rejected      *prometheus.CounterVec
	batchRecords  prometheus.Histogram
	commitLatency prometheus.Histogram
}

// New registers the metrics, with the Go runtime's and the process's.
func New(src Sources) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookhouse_webhook_requests_total",
			Help: "Authenticated webhook requests by integration and result (accepted, invalid_body, unauthorized, too_large, unsupported_media_type, unavailable, error).",
		}, []string{"integration_id", "result"}),
		loaded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookhouse_records_loaded_total",
			Help: "Records committed to data, by integration.",
		}, []string{"integration_id"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookhouse_records_rejected_total",
			Help: "Records committed to _sdc_rejected instead of data, by integration.",
		}, []string{"integration_id"}),
		batchRecords: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hookhouse_batch_records",
			Help:    "Records per committed warehouse transaction (group commit).",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8), // 1 … 16384
		}),
		commitLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hookhouse_commit_duration_seconds",
			Help:    "Time from taking a batch to the end of its commit (fsync included).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14), // 0.5 ms … 4 s
		}),
	}
	m.reg.MustRegister(m.requests, m.loaded, m.rejected, m.batchRecords, m.commitLatency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if src.ActiveIntegrations != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hookhouse_active_integrations",
			Help: "Integrations that are not paused.",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			n, err := src.ActiveIntegrations(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		}))
	}
	if src.DroppedActivity != nil {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hookhouse_activity_dropped_total",
			Help: "Extraction log and load report entries dropped because the recorder's queue was full.",
		}, func() float64 { return float64(src.DroppedActivity()) }))
	}
	if src.LiveStreams != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hookhouse_live_streams",
			Help: "Dashboard pages listening for arrivals (Server-Sent Events streams open now).",
		}, func() float64 { return float64(src.LiveStreams()) }))
	}
	return m
}

// ObserveWebhook counts one authenticated webhook request by the status it was answered.
func (m *Metrics) ObserveWebhook(integrationID int64, status, loaded, rejected int) {
	id := strconv.FormatInt(integrationID, 10)
	m.requests.WithLabelValues(id, result(status)).Inc()
	if loaded > 0 {
		m.loaded.WithLabelValues(id).Add(float64(loaded))
	}
	if rejected > 0 {
		m.rejected.WithLabelValues(id).Add(float64(rejected))
	}
}

// ForgetIntegration removes a deleted integration's series (a paused one keeps them).
func (m *Metrics) ForgetIntegration(integrationID int64) {
	id := prometheus.Labels{"integration_id": strconv.FormatInt(integrationID, 10)}
	for _, v := range []*prometheus.CounterVec{m.requests, m.loaded, m.rejected} {
		v.DeletePartialMatch(id)
	}
}

// IntegrationIDs is the integrations it has series of.
func (m *Metrics) IntegrationIDs() []int64 {
	ch := make(chan prometheus.Metric)
	go func() {
		for _, v := range []*prometheus.CounterVec{m.requests, m.loaded, m.rejected} {
			v.Collect(ch)
		}
		close(ch)
	}()
	seen := map[int64]bool{}
	var ids []int64
	for metric := range ch {
		var d dto.Metric
		if metric.Write(&d) != nil {
			continue
		}
		for _, l := range d.GetLabel() {
			if id, err := strconv.ParseInt(l.GetValue(), 10, 64); l.GetName() == "integration_id" && err == nil && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// ObserveBatch records a committed warehouse batch; it is cheap enough for OnCommit.
func (m *Metrics) ObserveBatch(_ string, b warehouse.BatchReport) {
	m.batchRecords.Observe(float64(b.Records + b.Rejected))
	m.commitLatency.Observe(b.Duration.Seconds())
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func result(status int) string {
	switch {
	case status < 300:
		return "accepted"
	case status == http.StatusBadRequest:
		return "invalid_body"
	case status == http.StatusUnauthorized: // a signature or credentials that do not verify
		return "unauthorized"
	case status == http.StatusRequestEntityTooLarge:
		return "too_large"
	case status == http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case status == http.StatusServiceUnavailable:
		return "unavailable"
	}
	return "error"
}
