package server

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus series.
type metrics struct {
	requests *prometheus.CounterVec   // by route, method, code
	latency  *prometheus.HistogramVec // by route
	signins  *prometheus.CounterVec   // by outcome: success, failure, locked, two_step, limited
}

// setupMetrics registers the series with reg (a private registry when nil)
// and keeps the Gatherer MetricsHandler serves.
func (s *Server) setupMetrics(reg prometheus.Registerer) error {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	g, ok := reg.(prometheus.Gatherer)
	if !ok {
		return errors.New("the registry must also be a prometheus.Gatherer")
	}
	s.gatherer = g
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "countersign", Name: "http_requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "countersign", Name: "http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		signins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "countersign", Name: "signin_attempts_total",
			Help: "Sign-in attempts by outcome (success, failure, locked, two_step, limited).",
		}, []string{"outcome"}),
	}
	for _, c := range []prometheus.Collector{
		m.requests, m.latency, m.signins,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				continue // the Go and process collectors of a shared registry
			}
			return err
		}
	}
	for _, o := range []string{"success", "failure", "locked", "two_step", "limited"} {
		m.signins.WithLabelValues(o)
	}
	s.metrics = m
	return nil
}

// MetricsHandler serves the Prometheus metrics at GET /metrics. It is not
// part of Handler: request counts by route, sign-in outcomes and process
// figures are for the operator, so the caller serves them on a listener of
// their own (countersign-server's --metrics-addr, loopback by default).
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{}))
	return mux
}

func (m *metrics) observe(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

func (m *metrics) signin(outcome string) { m.signins.WithLabelValues(outcome).Inc() }
