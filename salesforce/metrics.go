package salesforce

import "github.com/prometheus/client_golang/prometheus"

// Lookups returns how many FindByPhone lookups the client has served.
func (c *Client) Lookups() int64 { return c.lookups.Load() }

// CacheStats returns lookup cache hits and misses.
func (c *Client) CacheStats() (hits, misses int64) { return c.cacheHits.Load(), c.cacheMisses.Load() }

// Collectors returns Prometheus collectors reading the client's counters:
// API usage and limit (from Sforce-Limit-Info), requests sent, lookups,
// cache hits and misses, and whether the client is backing off. Register
// them on your own registry; each call returns new collectors.
func (c *Client) Collectors() []prometheus.Collector {
	const ns, sub = "switchboard", "salesforce"
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}, f)
	}
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}, f)
	}
	return []prometheus.Collector{
		gauge("api_usage", "API requests used in the last 24 hours, from the last Sforce-Limit-Info header.", func() float64 {
			u, _ := c.Limits()
			return float64(u)
		}),
		gauge("api_limit", "Daily API request limit, from the last Sforce-Limit-Info header.", func() float64 {
			_, m := c.Limits()
			return float64(m)
		}),
		gauge("limit_backoff", "1 while the client fails fast after REQUEST_LIMIT_EXCEEDED.", func() float64 {
			if c.checkBackoff() != nil {
				return 1
			}
			return 0
		}),
		counter("requests_total", "REST API requests sent (retries included).", func() float64 { return float64(c.requests.Load()) }),
		counter("lookups_total", "Phone number lookups served.", func() float64 { return float64(c.lookups.Load()) }),
		counter("lookup_cache_hits_total", "Phone number lookups answered from the cache.", func() float64 { return float64(c.cacheHits.Load()) }),
		counter("lookup_cache_misses_total", "Phone number lookups not in the cache.", func() float64 { return float64(c.cacheMisses.Load()) }),
	}
}
